"""Command line (Typer + Rich). Each command calls one services function."""
