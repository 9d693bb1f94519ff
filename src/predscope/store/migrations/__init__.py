"""Numbered schema migrations; ``store/migrate.py`` lists them in order and runs them."""
