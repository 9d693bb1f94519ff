"""One served store per test module and store kind (SQLite, PostgreSQL): building the project and
starting the server cost seconds, so the tests of a module share them and keep to their own
branches."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_server import PgServer
from tests.server.live import Server, build_project, live_server


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("store"))
        return
    pg: PgServer = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    pg.admin_execute(f"CREATE DATABASE {name}")
    yield pg.url(name)
    pg.admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def served(
    module_store: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """A real server over the scikit-image project (see ``live.build_project``)."""
    build_project(module_store)
    tmp: Path = tmp_path_factory.mktemp("served") / "server-tmp"
    with live_server(module_store, tmp) as server:
        yield server, module_store
