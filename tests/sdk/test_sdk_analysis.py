"""``Project`` analysis methods: analyse, get_metrics, prediction sets, queries (one document)."""

from __future__ import annotations

from pathlib import Path

from predscope.sdk.client import Client
from predscope.services.progress import ProgressUpdate
from tests.services.analysis.analysis_fixtures import bbox_project


def test_sdk_analyse_and_read_back(tmp_path: Path) -> None:
    with Client(tmp_path / "store") as client:
        bbox_project(client.store)
        project = client.get_project("coco-bbox")
        seen: list[ProgressUpdate] = []
        doc = project.analyse(branch_name="model", progress=seen.append)
        assert seen[-1].done == seen[-1].total == 5  # every stage reported
        assert doc == project.get_metrics(branch_name="model")
        assert doc["run"]["mode"] == "full" and doc["freshness"]["fresh"]
        [entry] = project.list_prediction_sets()
        assert entry["metrics"]["AP"] == doc["stats"]["AP"]
        assert project.set_prediction_set_review("model", status="reviewed")["review_status"] == (
            "reviewed"
        )
        page = project.query_objects("model", outcome="TP", limit=5)
        assert page.total == doc["counts"][0]["tp"] and len(page.items) == 5
        units = project.query_data_units("model", order_by="-tp", limit=3)
        assert units.total == 100 and units.items[0]["tp"] >= units.items[-1]["tp"]
