"""The write path of stored results: a full run replaces only its own set's columns (another
set's blocks keep their bytes and tokens), re-running gives the same objects, and a run killed
while it writes leaves the previous columns readable."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from predscope.services.analysis.runs import analyse
from predscope.store.engine import Store, open_store
from predscope.store.schema import analysis_column_sets, analysis_columns
from tests.services.analysis.analysis_fixtures import analysis_child, bbox_project, stored_objects
from tests.services.analysis.generated import generated_project

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(store_url: str) -> Store:
    opened = open_store(store_url)
    yield opened  # type: ignore[misc]
    opened.close()


def _blocks(store: Store, set_id: int | None = None) -> list[tuple[object, ...]]:
    """Every stored block (set, name, part, count, token, dtype, bytes) and set row."""
    c, s = analysis_columns.c, analysis_column_sets.c
    blocks = select(c.set_id, c.name, c.part, c.count, c.token, c.dtype, c.data)
    sets = select(s.set_id, s.token, s.count, s.bounds)
    if set_id is not None:
        blocks, sets = blocks.where(c.set_id == set_id), sets.where(s.set_id == set_id)
    with store.read() as conn:
        rows = [tuple(r) for r in conn.execute(blocks)] + [tuple(r) for r in conn.execute(sets)]
    return sorted(
        (tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows), key=repr
    )


def test_full_runs_replace_only_their_own_set(store: Store) -> None:
    first = bbox_project(store, "first")
    analyse(store, first.record, "model")
    one = analyse(store, first.record, "model", full=True)
    rows_one = stored_objects(store, one.set.id, with_id=True)
    assert len(rows_one) == 734 + 839
    second = bbox_project(store, "second")
    two = analyse(store, second.record, "model")
    rows_two, blocks_two = (
        stored_objects(store, two.set.id, with_id=True),
        _blocks(store, two.set.id),
    )
    old_first = _blocks(store, one.set.id)
    again = analyse(store, first.record, "model", full=True)
    assert again.set.id == one.set.id
    assert _blocks(store, two.set.id) == blocks_two  # not rewritten: the same bytes and tokens
    assert stored_objects(store, two.set.id, with_id=True) == rows_two
    assert stored_objects(store, one.set.id, with_id=True) == rows_one  # positions are ids
    new_first = _blocks(store, one.set.id)
    assert {r[4] for r in new_first if len(r) == 7}.isdisjoint(
        {r[4] for r in old_first if len(r) == 7}
    )
    if store.dialect == "sqlite":
        with store.read() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def _wait_for_the_write_lock(db: Path, child: subprocess.Popen[bytes]) -> bool:
    """Poll (up to 30 s) until another connection holds SQLite's write lock - the run's write
    transaction once its "write" stage is reported; False if the child ends first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and child.poll() is None:
        probe = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return True
            raise
        finally:
            probe.close()
        time.sleep(0.001)
    return False


@pytest.mark.slow
def test_kill_9_in_the_write_stage_keeps_the_previous_columns(tmp_path: Path) -> None:
    """The columns are replaced inside the run's one transaction: a process killed in the write
    stage leaves the previous blocks (bytes and tokens) readable and the store intact."""
    url = str(tmp_path / "store")
    store = open_store(url)
    try:
        project, _, _ = generated_project(store, tmp_path / "case", 600, 30)
        analyse(store, project, "model")
        blocks = _blocks(store)
        before = stored_objects(store, with_id=True)
        child, stage = analysis_child(store, url, "write", poll=0.005)
        assert stage is not None and child.poll() is None, "the child finished too soon"
        held = _wait_for_the_write_lock(Path(url) / "predscope.db", child)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert held, "the child's write transaction was never seen"
        assert _blocks(store) == blocks
        assert stored_objects(store, with_id=True) == before
        with store.read() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        again = analyse(store, project, "model", full=True)
        assert again.run.status == "complete"
        assert stored_objects(store, with_id=True) == before
    finally:
        store.close()
