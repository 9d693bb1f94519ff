"""SDK test fixtures: a client on each store (SQLite and PostgreSQL) and a small project."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from predscope.sdk.client import Client
from predscope.sdk.project import Project
from tests.sdk.sdk_data import ONTOLOGY, UNITS


@pytest.fixture
def client(store_url: str) -> Iterator[Client]:
    with Client(store_url) as c:
        yield c


@pytest.fixture
def project(client: Client) -> Project:
    p = client.create_project("sdk-test", ontology=ONTOLOGY, description="fixture project")
    p.add_data(UNITS)
    return p
