"""``compare_prediction_sets``: deltas, the bootstrap interval (equal to the engine's on the
branches' full inputs) and the GT objects whose outcome changed."""

from __future__ import annotations

import pytest

from predscope.evaluation.bootstrap import bootstrap_map_difference
from predscope.evaluation.params import CocoParams
from predscope.exceptions import InvalidArgumentsError
from predscope.services.analysis.compare import compare_prediction_sets
from predscope.services.analysis.evaluate import evaluate_branch
from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.runs import analyse
from predscope.services.query import query_objects
from predscope.store.engine import open_store
from tests.cli.test_cli_analyse import location  # noqa: F401 - module fixture: project 'demo'

__all__ = ["location"]


def test_compare_two_sets(location: str) -> None:  # noqa: F811
    store = open_store(location)
    try:
        for branch in ("haar", "ocr"):
            analyse(store, "demo", branch, iou_type="bbox")
        doc = compare_prediction_sets(store, "demo", "haar", "ocr", n_resamples=200, seed=3)
        a = evaluate_branch(store, "demo", "haar")
        b = evaluate_branch(store, "demo", "ocr")
        assert doc["stats"]["AP"]["delta"] == a.stats["AP"] - b.stats["AP"]
        want = bootstrap_map_difference(
            a.ground_truth, a.detections, b.detections, CocoParams(), n_resamples=200, seed=3
        )
        got = doc["bootstrap"]
        assert (got["estimate"], got["low"], got["high"]) == (want.estimate, want.low, want.high)
        face = next(r for r in doc["per_class"] if r["name"] == "face")
        assert face["AP"]["a"] == a.evaluation.per_class[0].ap
        assert want.class_low is not None and want.class_high is not None
        for k, row in enumerate(doc["per_class"]):  # per-class intervals: the engine's, as stored
            low, high = want.class_low[k], want.class_high[k]
            assert row["AP"]["low"] == (None if low != low else low)
            assert row["AP"]["high"] == (None if high != high else high)
        # changed outcomes = set difference of the two stored TP lists of GT objects
        tp_a = {
            i["object_hash"]
            for i in query_objects(
                store, "demo", "haar", kind="ground_truth", outcome="TP", limit=1000
            ).items
        }
        fn_b = {
            i["object_hash"]
            for i in query_objects(
                store, "demo", "ocr", kind="ground_truth", outcome="FN", limit=1000
            ).items
        }
        changed = doc["changed"]
        assert changed["found_by_a_missed_by_b"] == len(tp_a & fn_b) > 0
        assert {e["object_hash"] for e in changed["examples_a_not_b"]} == tp_a & fn_b
        # the parts a page asks for apart: the same figures, without the rest
        quick = compare_prediction_sets(store, "demo", "haar", "ocr", interval=False)
        assert quick["bootstrap"] is None and quick["changed"] == changed
        assert quick["stats"] == doc["stats"]
        for row, full in zip(quick["per_class"], doc["per_class"], strict=True):
            assert "low" not in row["AP"] and row["AP"]["delta"] == full["AP"]["delta"]
        slow = compare_prediction_sets(
            store, "demo", "haar", "ocr", n_resamples=200, seed=3, changed=False
        )
        assert slow["changed"] is None and slow["bootstrap"] == got
        assert slow["per_class"] == doc["per_class"]
        with pytest.raises(InvalidArgumentsError, match="both branches"):
            compare_prediction_sets(store, "demo", "haar", "haar")
    finally:
        store.close()


def test_compare_two_mixed_sets(location: str) -> None:  # noqa: F811
    """The demo's boxes and polygon measured by their own metrics (auto): compare reads the
    stored per-class figures and resamples the stored match records of both kinds."""
    store = open_store(location)
    try:
        for branch in ("haar", "ocr"):
            analyse(store, "demo", branch)
        doc = compare_prediction_sets(store, "demo", "haar", "ocr", n_resamples=50, seed=1)
        assert doc["iou_type"] == "mixed"
        metrics = [get_metrics(store, "demo", b) for b in ("haar", "ocr")]
        assert doc["stats"]["AP"]["delta"] == metrics[0]["stats"]["AP"] - metrics[1]["stats"]["AP"]
        assert doc["bootstrap"]["estimate"] == pytest.approx(doc["stats"]["AP"]["delta"], abs=1e-12)
        text = next(r for r in doc["per_class"] if r["name"] == "text")
        assert text["AP"]["a"] == metrics[0]["per_class"][2]["AP"]
    finally:
        store.close()


def test_changed_objects_on_both_stores(store_url: str) -> None:
    """The changed ground truth, counted and paged from the unit index, equals the set
    difference of the two sets' stored outcomes at several thresholds; pages follow data-unit
    order and together give every changed object once."""
    from predscope.services.rows import copy_labels_to_branch
    from tests.services.analysis.analysis_fixtures import bbox_project, edit_one_row

    store = open_store(store_url)
    try:
        project = bbox_project(store)
        copy_labels_to_branch(store, project.record, "model-b", source_branch="model")
        for row in project.list_label_rows_v2(branch_name="model-b")[:30]:
            if row.label_hash:
                edit_one_row(project, "model-b", row.data_title)
        for branch in ("model", "model-b"):
            analyse(store, project.record, branch)
        for iou in (0.5, 0.75):

            def outcome(branch: str, name: str, iou: float = iou) -> set[str]:
                page = query_objects(store, project.record, branch, kind="ground_truth",
                                     outcome=name, iou_threshold=iou, limit=1000)  # fmt: skip
                assert page.total < 1000
                return {i["object_hash"] for i in page.items}

            a_not_b = outcome("model", "TP") & outcome("model-b", "FN")
            b_not_a = outcome("model-b", "TP") & outcome("model", "FN")
            assert a_not_b  # the edits removed found objects
            pages = [
                compare_prediction_sets(store, project.record, "model", "model-b",
                                        iou_threshold=iou, n_resamples=10, offset=k, limit=7)
                for k in range(0, len(a_not_b) + 7, 7)
            ]  # fmt: skip
            changed = pages[0]["changed"]
            assert changed["found_by_a_missed_by_b"] == len(a_not_b)
            assert changed["found_by_b_missed_by_a"] == len(b_not_a)
            seen = [e for p in pages for e in p["changed"]["examples_a_not_b"]]
            assert len(seen) == len(a_not_b)  # each once
            assert {e["object_hash"] for e in seen} == a_not_b
            units = {u.data_hash: u.id for u in project.list_data_units()}
            order = [(units[e["data_hash"]], e["frame"]) for e in seen]
            assert order == sorted(order)
    finally:
        store.close()
