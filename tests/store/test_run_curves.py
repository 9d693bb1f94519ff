"""Run results keep their PR-curve entries once per set, by digest (m0013), and read back whole."""

from __future__ import annotations

from sqlalchemy import func, select

from predscope.store import analysis as repo
from predscope.store.engine import Store
from predscope.store.schema import analysis_curves, analysis_runs
from tests.services.analysis.analysis_fixtures import bbox_project

ENTRIES = [
    {"name": "cat", "iou": 0.5, "points": {"score": [0.9, 0.4], "precision": [1.0, 0.5]}},
    {"name": "dog", "iou": 0.5, "points": {"score": [], "precision": []}},
]


def _new_run(store: Store) -> tuple[int, int]:
    project = bbox_project(store)
    with store.begin() as conn:
        pset = repo.get_or_create_set(conn, project.record.id, "model", "main")
        run = repo.create_run(conn, pset.id, {}, "test", 1, "host")
    return pset.id, run.id


def _curve_rows(store: Store, set_id: int) -> int:
    with store.read() as conn:
        query = select(func.count()).where(analysis_curves.c.set_id == set_id)
        return int(conn.execute(query).scalar_one())


def test_results_list_digests_and_read_back_the_entries(store: Store) -> None:
    set_id, run_id = _new_run(store)
    curves = [repo.Curve.of(e) for e in ENTRIES]
    assert len({c.digest for c in curves}) == 2
    with store.begin() as conn:
        repo.keep_curves(conn, set_id, curves)
        stored = {"stats": {"AP": 0.5}, "pr_curves": [c.digest for c in curves]}
        repo.update_run(conn, run_id, results=stored)
    with store.read() as conn:
        assert repo.run_results(conn, run_id) == {"stats": {"AP": 0.5}, "pr_curves": ENTRIES}
        assert repo.run_results(conn, run_id, curves=False)["pr_curves"] == stored["pr_curves"]
    assert _curve_rows(store, set_id) == 2


def test_an_unchanged_curve_is_stored_once(store: Store) -> None:
    set_id, _ = _new_run(store)
    with store.begin() as conn:
        repo.keep_curves(conn, set_id, [repo.Curve.of(e) for e in ENTRIES])
    changed = {**ENTRIES[1], "points": {"score": [0.3], "precision": [1.0]}}
    with store.begin() as conn:  # the next run: one class's curve moved
        repo.keep_curves(conn, set_id, [repo.Curve.of(ENTRIES[0]), repo.Curve.of(changed)])
    assert _curve_rows(store, set_id) == 3


def test_results_stored_inline_before_m0013_read_as_they_are(store: Store) -> None:
    set_id, run_id = _new_run(store)
    with store.begin() as conn:
        repo.update_run(conn, run_id, results={"pr_curves": ENTRIES})
    with store.read() as conn:
        assert repo.run_results(conn, run_id)["pr_curves"] == ENTRIES
        raw = conn.execute(select(analysis_runs.c.results).where(analysis_runs.c.id == run_id))
        assert '"points"' in raw.scalar_one()
    assert _curve_rows(store, set_id) == 0
