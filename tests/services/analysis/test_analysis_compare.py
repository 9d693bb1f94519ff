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
