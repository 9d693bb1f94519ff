"""Persistence (SQLAlchemy 2): SQLite embedded, PostgreSQL for teams."""
