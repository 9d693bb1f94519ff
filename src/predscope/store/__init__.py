"""Persistence (SQLAlchemy 2): the only package that speaks SQL. SQLite embedded, PostgreSQL for teams."""
