"""The write path of stored results: a full run's whole-table shortcut on SQLite (frame counts,
attributes) keeps every index as defined and every other set's rows and object columns, and
re-running gives the same objects at the same positions."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from predscope.services.analysis.runs import analyse
from predscope.store.engine import Store, open_store
from predscope.store.schema import analysis_column_sets
from tests.services.analysis.analysis_fixtures import analysis_child, bbox_project, stored_objects
from tests.services.analysis.generated import generated_project

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(store_url: str) -> Store:
    opened = open_store(store_url)
    yield opened  # type: ignore[misc]
    opened.close()


def _indexes(store: Store) -> list[tuple[str, str]]:
    """(name, definition) of every index on the analysis tables."""
    if store.dialect == "sqlite":
        sql = (
            "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name LIKE 'analysis%' ORDER BY name"
        )
    else:
        sql = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'analysis%' "
            "ORDER BY indexname"
        )
    with store.read() as conn:
        return [(str(a), str(b)) for a, b in conn.execute(text(sql))]


def _tokens(store: Store) -> list[tuple[int, str]]:
    """Every set's object columns token: a new one per committed write."""
    with store.read() as conn:
        return [
            (int(a), str(b))
            for a, b in conn.execute(select(*analysis_column_sets.c["set_id", "token"]))
        ]


def test_full_runs_keep_indexes_and_other_sets(store: Store) -> None:
    indexes = _indexes(store)
    names = {name for name, _ in indexes}
    assert {"ix_analysis_frames_fn0", "ix_analysis_columns_part"} <= names
    first = bbox_project(store, "first")
    analyse(store, first.record, "model")  # empty tables: the whole-table path
    one = analyse(store, first.record, "model", full=True)  # the set alone: again
    rows_one = stored_objects(store, one.set.id, with_id=True)
    assert len(rows_one) == 734 + 839 and _indexes(store) == indexes
    second = bbox_project(store, "second")
    two = analyse(store, second.record, "model")  # another set present: row by row
    rows_two = stored_objects(store, two.set.id, with_id=True)
    again = analyse(store, first.record, "model", full=True)
    assert again.set.id == one.set.id
    assert stored_objects(store, two.set.id, with_id=True) == rows_two
    assert stored_objects(store, one.set.id, with_id=True) == rows_one
    assert _indexes(store) == indexes
    if store.dialect == "sqlite":
        with store.read() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


@pytest.mark.slow
def test_kill_9_in_the_write_stage_keeps_rows_and_indexes(tmp_path: Path) -> None:
    """Indexes are dropped and created inside the run's one transaction: a process killed in
    the write stage leaves the previous rows and every index, and the store intact."""
    url = str(tmp_path / "store")
    store = open_store(url)
    try:
        project, _, _ = generated_project(store, tmp_path / "case", 600, 30)
        first = analyse(store, project, "model")
        indexes = _indexes(store)
        before = stored_objects(store, with_id=True)
        token = _tokens(store)
        child, stage = analysis_child(store, url, "write", poll=0.005)
        assert child.poll() is None, "the child finished before it could be killed"
        # into the write transaction: the stage is about 0.1 s here (the objects' columns),
        # most of it inside the transaction
        time.sleep(0.4 * first.run.timings["write"])
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert stage is not None
        assert _indexes(store) == indexes
        # a full run of the same rows stores the same objects: the token tells the write did
        # not commit, the objects that they are whole
        assert _tokens(store) == token
        assert stored_objects(store, with_id=True) == before
        with store.read() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        again = analyse(store, project, "model", full=True)
        assert again.run.status == "complete" and _indexes(store) == indexes
    finally:
        store.close()
