"""Shared fixtures: a throwaway PostgreSQL server per test session (per xdist worker) and
``store_url``, which runs a store test once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_server import PgServer, find_pg_bin


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip(
            "POSTGRESQL TESTS SKIPPED: initdb/pg_ctl not found in PATH or /usr/lib/postgresql/*/bin"
            " - install Debian's 'postgresql' package (scripts/setup does this in CI)"
        )
    server = PgServer(bin_dir)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store location: a folder (SQLite) or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "store")
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    server.admin_execute(f"CREATE DATABASE {name}")
    yield server.url(name)
    server.admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
