from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from predscope.exceptions import StoreBusyError
from predscope.store.engine import open_store
from predscope.store.projects import create_project, list_projects

WRITES = 15


def _writer(location: str, name: str, start: float, errors: multiprocessing.Queue[str]) -> None:
    try:
        time.sleep(max(0.0, start - time.time()))
        # Both processes open (and so migrate) a brand-new store at the same moment.
        with open_store(location) as store:
            for i in range(WRITES):
                with store.begin() as conn:
                    create_project(conn, f"{name}-{i}", {"objects": []})
                    time.sleep(0.005)  # hold the write lock so the two writers really overlap
    except BaseException as exc:  # report anything to the parent, which fails the test
        errors.put(f"{name}: {type(exc).__name__}: {exc}")
        raise


def test_two_processes_write_at_once(store_url: str) -> None:
    ctx = multiprocessing.get_context("fork")
    errors: multiprocessing.Queue[str] = ctx.Queue()
    start = time.time() + 0.5
    procs = [ctx.Process(target=_writer, args=(store_url, n, start, errors)) for n in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    messages = [errors.get_nowait() for _ in range(errors.qsize())]
    assert messages == []
    assert [p.exitcode for p in procs] == [0, 0]
    with open_store(store_url) as store, store.read() as conn:
        titles = sorted(p.title for p in list_projects(conn))
    assert titles == sorted(f"{n}-{i}" for n in "ab" for i in range(WRITES))


def test_lock_held_too_long_is_store_busy(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    holder = sqlite3.connect(tmp_path / "predscope.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with open_store(tmp_path, busy_timeout=0.2) as store:
            with store.read() as conn:  # WAL: readers are not blocked by the writer
                assert list_projects(conn) == []
            busy = r"write lock for more than 0\.2 s.*retry"
            with pytest.raises(StoreBusyError, match=busy), store.begin() as conn:
                create_project(conn, "never", {})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with open_store(tmp_path) as store, store.read() as conn:
        assert list_projects(conn) == []
