from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from predscope.exceptions import ResourceNotFoundError, SchemaVersionError, StoreError
from predscope.store.engine import Store, open_store, resolve_location
from predscope.store.migrate import MIGRATIONS
from predscope.store.projects import create_project, list_projects
from predscope.store.schema import metadata


def test_folder_becomes_sqlite_url_and_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    url = resolve_location(folder)
    assert folder.is_dir()
    assert url == f"sqlite:///{folder.resolve() / 'predscope.db'}"


def test_urls_pass_through_and_postgresql_gets_psycopg() -> None:
    assert resolve_location("postgresql://u:pw@h:5/db") == "postgresql+psycopg://u:pw@h:5/db"
    assert resolve_location("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(StoreError, match="not a valid database URL"):
        resolve_location("://nonsense")


def test_default_location_uses_predscope_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREDSCOPE_HOME", str(tmp_path / "home"))
    assert resolve_location(None).endswith(str(tmp_path / "home" / "predscope.db"))
    monkeypatch.delenv("PREDSCOPE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert resolve_location(None).endswith(os.path.join("user", ".predscope", "predscope.db"))


def test_sqlite_pragmas(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_fresh_store_matches_schema(store: Store) -> None:
    assert store.schema_version() == MIGRATIONS[-1].version
    with store.read() as conn:
        insp = inspect(conn)
        for table in metadata.sorted_tables:
            got = {c["name"] for c in insp.get_columns(table.name)}
            assert got == {c.name for c in table.columns}, table.name
            want_ix = {ix.name for ix in table.indexes}
            assert want_ix <= {ix["name"] for ix in insp.get_indexes(table.name)}, table.name


def test_old_store_is_upgraded(store_url: str) -> None:
    with open_store(store_url, migrations=MIGRATIONS[:1]) as old:
        assert old.schema_version() == 1
        with old.begin() as conn:
            assert not inspect(conn).has_table("imports")
            # create_project touches only version-1 tables, so it works on the old schema.
            create_project(conn, "kept", {"objects": []})
    with open_store(store_url) as new:
        assert new.schema_version() == MIGRATIONS[-1].version
        with new.read() as conn:
            assert inspect(conn).has_table("imports")
            names = {ix["name"] for ix in inspect(conn).get_indexes("label_rows")}
            assert "ix_label_rows_project_edited" in names
            assert [p.title for p in list_projects(conn)] == ["kept"]


def test_newer_store_is_refused(store_url: str) -> None:
    with open_store(store_url) as s, s.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = 99"))
    with pytest.raises(SchemaVersionError, match="version 99.*upgrade predscope"):
        open_store(store_url)


def test_failed_migration_leaves_store_untouched(store_url: str) -> None:
    def broken(conn: object) -> None:
        raise RuntimeError("boom")

    from predscope.store.migrate import Migration

    with open_store(store_url, migrations=MIGRATIONS[:1]):
        pass
    with pytest.raises(RuntimeError, match="boom"):
        open_store(
            store_url,
            migrations=(*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "broken", broken)),
        )
    with open_store(store_url, migrations=MIGRATIONS[:1]) as s:
        # Migration 2 ran inside the failed transaction too, so it was rolled back with it.
        assert s.schema_version() == 1
        with s.read() as conn:
            assert not inspect(conn).has_table("imports")


def test_exception_mid_transaction_writes_nothing(store: Store) -> None:
    with pytest.raises(ResourceNotFoundError), store.begin() as conn:
        create_project(conn, "first", {})
        create_project(conn, "second", {})
        raise ResourceNotFoundError("stop here")
    with store.read() as conn:
        assert list_projects(conn) == []


def test_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="reachable"):
        open_store("postgresql://nobody@127.0.0.1:1/none")
