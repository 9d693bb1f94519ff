"""``branch_summary`` moves on every kind of write to a branch, so the fingerprint cached under it
(``services.analysis.fingerprints.branch_fingerprint``) is never stale; on both stores."""

from __future__ import annotations

from typing import Any

from predscope.sdk.client import Client
from predscope.services.analysis.fingerprints import branch_fingerprint, fingerprint_of
from predscope.store.branch_rows import row_markers
from predscope.store.label_rows import branch_summary
from tests.sdk.sdk_data import ONTOLOGY, UNITS
from tests.sdk.test_sdk_branches import _box


def _state(client: Client, project_id: int, branch: str) -> tuple[Any, str, str]:
    with client.store.read() as conn:
        exact = fingerprint_of(row_markers(conn, project_id, branch))
        return (
            branch_summary(conn, project_id, branch),
            branch_fingerprint(conn, project_id, branch),
            exact,
        )


def test_every_write_moves_the_summary_and_the_cached_fingerprint_follows(store_url: str) -> None:
    with Client(store_url) as client:
        project = client.create_project("summary", ontology=ONTOLOGY)
        project.add_data(UNITS)
        pid = project.record.id
        seen = [_state(client, pid, "model")]

        def step(what: str) -> None:
            """The state moved from every earlier one holding rows (an empty branch is one)."""
            now = _state(client, pid, "model")
            assert now[1] == now[2], what  # the cached fingerprint is the exact one
            earlier = [s for s in seen if s[0][0]] + seen[-1:]
            assert all(now[0] != s[0] and now[2] != s[2] for s in earlier), what
            seen.append(now)

        rows = project.list_label_rows_v2(branch_name="model")
        rows[0].initialise_labels()  # a new row
        step("new row")
        _box(project, rows[0])
        rows[0].save()  # a save of that row
        step("saved")
        rows[0].save()  # the same content saved again: a new version
        step("saved again")
        rows[1].initialise_labels()
        _box(project, rows[1], 0.25)
        rows[1].save()
        step("second row")
        project.remove_branch("model", force=True)  # every row gone
        step("branch removed")
        again = project.list_label_rows_v2(branch_name="model")[0]
        again.initialise_labels()  # back to one row, on the unit it had: new id, new time
        step("row again")
        assert _state(client, pid, "main") == _state(client, pid, "main")  # untouched: stable


def _cached_entries_are_current(store: Any, project_id: int) -> None:
    from predscope.services.analysis import fingerprints

    url = store.engine.url.render_as_string(hide_password=False)
    with store.read() as conn:
        for branch in ("main", "model"):
            summary, digest = fingerprints._CACHE[(url, project_id, branch)]
            assert summary == branch_summary(conn, project_id, branch)
            assert digest == fingerprint_of(row_markers(conn, project_id, branch))


def test_an_analysis_leaves_its_fingerprints_and_a_server_start_warms_them(tmp_path: Any) -> None:
    from predscope.services.analysis import fingerprints, metrics
    from predscope.services.analysis.runs import analyse
    from predscope.store.engine import open_store
    from tests.services.analysis.analysis_fixtures import bbox_project

    with open_store(str(tmp_path / "store")) as store:
        project = bbox_project(store)
        fingerprints._CACHE.clear()
        analyse(store, project.record, "model")
        _cached_entries_are_current(store, project.record.id)  # the run's own digests
        fingerprints._CACHE.clear()
        assert metrics.warm_fingerprints(store) == 2  # main and model
        _cached_entries_are_current(store, project.record.id)
