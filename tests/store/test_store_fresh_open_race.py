"""Several processes opening one brand-new SQLite store at the same moment all succeed.

Switching a new file to WAL needs an exclusive lock that SQLite does not wait for; the store must
retry it instead of failing with "database is locked".
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from predscope.store.engine import open_store
from predscope.store.projects import list_projects

PROCESSES = 4
ROUNDS = 6


def _open(location: str, start: float, errors: multiprocessing.Queue[str]) -> None:
    try:
        time.sleep(max(0.0, start - time.time()))
        with open_store(location) as store, store.read() as conn:
            list_projects(conn)
    except BaseException as exc:  # reported to the parent, which fails the test
        errors.put(f"{type(exc).__name__}: {exc}")
        raise


def test_simultaneous_first_opens_of_a_new_store(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    errors: multiprocessing.Queue[str] = ctx.Queue()
    for n in range(ROUNDS):
        location = str(tmp_path / f"store-{n}")
        start = time.time() + 0.3
        procs = [
            ctx.Process(target=_open, args=(location, start, errors)) for _ in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * PROCESSES, errors.get_nowait()
        with open_store(location) as store, store.read() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal"
