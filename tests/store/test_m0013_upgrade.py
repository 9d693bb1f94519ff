"""Migration 13 adds the per-set PR-curve table; results stored inline before it read as they
did, and the upgraded store's next run lists its curves by digest."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from predscope.sdk.project import Project
from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.runs import analyse
from predscope.store.engine import open_store
from predscope.store.migrate import MIGRATIONS
from predscope.store.schema import analysis_curves, analysis_runs
from tests.services.analysis.analysis_fixtures import bbox_project, edit_one_row
from tests.store.legacy_stores import legacy_store

SKIP = ("run", "freshness", "latest_attempt")


def test_schema12_inline_curves_read_and_the_next_run_shares_them(
    store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fresh = open_store(str(tmp_path_factory.mktemp("fresh") / "store"))
    analyse(fresh, bbox_project(fresh).record, "model")
    want = get_metrics(fresh, "coco-bbox", "model")
    legacy_store(fresh, store_url, 12)
    with open_store(store_url, migrations=MIGRATIONS[:12]) as old, old.read() as conn:
        assert not inspect(conn).has_table("analysis_curves")
        assert '"points"' in conn.execute(select(analysis_runs.c.results)).scalar_one()
    with open_store(store_url) as upgraded:
        assert upgraded.schema_version() == MIGRATIONS[-1].version
        got = get_metrics(upgraded, "coco-bbox", "model")
        assert {k: v for k, v in got.items() if k not in SKIP} == {
            k: v for k, v in want.items() if k not in SKIP
        }
        project = Project(upgraded, _project(upgraded, "coco-bbox"))
        edit_one_row(
            project, "model", project.list_label_rows_v2(branch_name="model")[2].data_title
        )
        inc = analyse(upgraded, project.record, "model")
        assert inc.mode == "incremental"
        with upgraded.read() as conn:
            held = conn.execute(select(analysis_curves.c.digest)).scalars().all()
        assert len(held) == len(want["pr_curves"])  # every class's entry, once
        after = get_metrics(upgraded, "coco-bbox", "model")["pr_curves"]
        full = analyse(upgraded, project.record, "model", full=True)
        assert full.mode == "full"
        assert get_metrics(upgraded, "coco-bbox", "model")["pr_curves"] == after
    fresh.close()
