"""Key registry for the Encord-compatible API, on SQLite and PostgreSQL: one transaction per
registration, grants per user, lookups by id, prefix, fingerprint or public-key line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from predscope.exceptions import (
    InvalidArgumentsError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from predscope.services import encord_keys as keys
from predscope.services.projects import create_project
from predscope.store.engine import Store, open_store
from tests.server.encord.keys import KeyPair, make_key_pair


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as st:
        create_project(st, "alpha", {"objects": [], "classifications": []})
        create_project(st, "beta", {"objects": [], "classifications": []})
        yield st


@pytest.fixture
def pair(tmp_path: Path) -> KeyPair:
    return make_key_pair(tmp_path)


def _pub(pair: KeyPair) -> str:
    return pair.public_path.read_text()


def test_add_grants_and_access(store: Store, pair: KeyPair) -> None:
    info = keys.add_key(store, _pub(pair), user_email=" Ann@Example.org ", projects=["alpha"])
    assert (info.key_hex, info.user_email, info.projects) == (
        pair.key_hex,
        "ann@example.org",
        ("alpha",),
    )
    assert info.comment == "test@predscope"
    access = keys.key_access(store, pair.key_hex)
    alpha = [p for p in store_projects(store) if p[1] == "alpha"][0][0]
    assert access is not None and access.project_ids == {alpha}
    assert keys.key_access(store, "00" * 32) is None  # unknown key


def test_grants_belong_to_the_user_and_accumulate(store: Store, tmp_path: Path) -> None:
    first, second = make_key_pair(tmp_path / "a"), make_key_pair(tmp_path / "b")
    keys.add_key(store, _pub(first), user_email="ann@example.org", projects=["alpha"])
    info = keys.add_key(store, _pub(second), user_email="ann@example.org", projects=["beta"])
    assert info.projects == ("alpha", "beta")
    again = keys.add_key(store, _pub(first), user_email="ann@example.org", projects=["alpha"])
    assert again.projects == ("alpha", "beta")  # idempotent, nothing duplicated
    assert len(keys.list_keys(store)) == 2
    keys.remove_key(store, first.key_hex)
    access = keys.key_access(store, second.key_hex)
    assert access is not None and len(access.project_ids) == 2


def test_a_failed_registration_writes_nothing(store: Store, pair: KeyPair) -> None:
    with pytest.raises(ResourceNotFoundError, match="'gamma'"):
        keys.add_key(store, _pub(pair), user_email="ann@example.org", projects=["alpha", "gamma"])
    assert keys.list_keys(store) == []
    assert keys.key_access(store, pair.key_hex) is None


def test_one_key_one_user(store: Store, pair: KeyPair) -> None:
    keys.add_key(store, _pub(pair), user_email="ann@example.org")
    with pytest.raises(ResourceExistsError, match="already registered to ann@example.org"):
        keys.add_key(store, _pub(pair), user_email="bob@example.org", projects=["beta"])
    access = keys.key_access(store, pair.key_hex)
    assert access is not None and access.user_email == "ann@example.org" and not access.project_ids


@pytest.mark.parametrize("email", ["", "ann", "ann@", "@x.org", "a b@x.org"])
def test_bad_email_is_refused(store: Store, pair: KeyPair, email: str) -> None:
    with pytest.raises(InvalidArgumentsError, match="not an e-mail address"):
        keys.add_key(store, _pub(pair), user_email=email)


def test_resolve_by_every_name(store: Store, tmp_path: Path) -> None:
    a, b = make_key_pair(tmp_path / "a"), make_key_pair(tmp_path / "b")
    info = keys.add_key(store, _pub(a), user_email="ann@example.org")
    keys.add_key(store, _pub(b), user_email="bob@example.org")
    assert keys.resolve_key(store, a.key_hex) == a.key_hex
    assert keys.resolve_key(store, a.key_hex[:10].upper()) == a.key_hex
    assert keys.resolve_key(store, info.fingerprint) == a.key_hex
    assert keys.resolve_key(store, _pub(a)) == a.key_hex
    with pytest.raises(InvalidArgumentsError, match="at least 8 hex digits"):
        keys.resolve_key(store, a.key_hex[:4])
    with pytest.raises(ResourceNotFoundError):
        keys.resolve_key(store, "SHA256:nope")


def test_removing_an_unknown_key_is_an_error(store: Store) -> None:
    with pytest.raises(ResourceNotFoundError, match="not registered"):
        keys.remove_key(store, "ab" * 32)


def test_deleting_a_project_drops_its_grants(store: Store, pair: KeyPair) -> None:
    from sqlalchemy import text

    keys.add_key(store, _pub(pair), user_email="ann@example.org", projects=["alpha", "beta"])
    with store.begin() as conn:
        conn.execute(text("DELETE FROM projects WHERE title = 'alpha'"))
    assert keys.list_keys(store)[0].projects == ("beta",)


def store_projects(store: Store) -> list[tuple[int, str]]:
    from predscope.store.projects import list_projects

    with store.read() as conn:
        return [(p.id, p.title) for p in list_projects(conn)]
