"""A run killed with SIGKILL mid-way leaves the previous results readable and is detected."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.runs import analyse, run_state
from predscope.store import analysis as repo
from predscope.store.engine import open_store
from tests.services.analysis.analysis_fixtures import analysis_child, stored_objects
from tests.services.analysis.generated import generated_project

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_kill_9_mid_run_keeps_the_last_good_results(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    try:
        project, _, _ = generated_project(store, tmp_path / "case", 600, 30)
        good = analyse(store, project, "model")
        before = get_metrics(store, project, "model")
        rows_before = stored_objects(store)
        child, stage = analysis_child(store, store_url, "match")  # past reading
        assert child.poll() is None, "the child finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert stage is not None
        after = get_metrics(store, project, "model")
        assert after["run"]["id"] == good.run.id
        assert after["stats"] == before["stats"]
        assert after["latest_attempt"]["status"] == "interrupted"
        assert stored_objects(store) == rows_before
        with store.read() as conn:
            pset = repo.find_set(conn, project.id, "model", "main")
            assert pset is not None
            killed = repo.list_runs(conn, pset.id)[0]
        assert killed.status == "running" and run_state(killed) == "interrupted"
        # the next run records the killed one as failed and completes
        again = analyse(store, project, "model")
        with store.read() as conn:
            marked = repo.get_run(conn, killed.id)
        assert marked is not None and marked.status == "failed"
        assert "interrupted" in (marked.error or "")
        assert again.run.status == "complete"
        assert get_metrics(store, project, "model")["stats"] == before["stats"]
    finally:
        store.close()
