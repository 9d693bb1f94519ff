"""Operating points equal the query layer's counts at every cut and threshold (they read the same
stored run through different paths: the match records and the object rows)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from predscope.services.analysis.operating import operating_points
from predscope.services.analysis.runs import analyse
from predscope.services.query import query_objects
from predscope.store.engine import Store, open_store
from tests.services.analysis.analysis_fixtures import bbox_project


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Any]]:
    store = open_store(str(tmp_path_factory.mktemp("operating") / "store"))
    project = bbox_project(store)
    analyse(store, project.record, "model")
    yield store, project.record
    store.close()


def _total(store: Store, record: Any, **q: Any) -> int:
    return query_objects(store, record, "model", limit=1, **q).total


@pytest.mark.parametrize("iou", [0.5, 0.75, 0.95])
def test_counts_at_every_cut_equal_the_query_layer(analysed: tuple[Store, Any], iou: float) -> None:
    store, record = analysed
    points = operating_points(store, record, "model", iou_threshold=iou)
    cuts = points["cuts"]
    assert cuts == sorted(cuts, reverse=True) and len(cuts) == len(set(cuts))
    for c in points["classes"]:
        assert len(c["tp"]) == len(c["fp"]) == len(cuts)
        assert c["tp"] == sorted(c["tp"]) and c["fp"] == sorted(c["fp"])  # cumulative
        for i in range(0, len(cuts), max(1, len(cuts) // 7)):
            q = {"iou_threshold": iou, "object_names": [c["name"]], "min_confidence": cuts[i]}
            assert c["tp"][i] == _total(store, record, outcome="TP", **q)
            assert c["fp"][i] == _total(store, record, outcome="FP", **q)
    tp_all = sum(c["tp"][-1] for c in points["classes"])
    assert (
        tp_all == len(points["tp_scores"]) == _total(store, record, outcome="TP", iou_threshold=iou)
    )


def test_many_scores_are_cut_into_at_most_max_cuts(analysed: tuple[Store, Any]) -> None:
    store, record = analysed
    full = operating_points(store, record, "model")
    few = operating_points(store, record, "model", max_cuts=5)
    assert len(few["cuts"]) <= 5 < len(full["cuts"])
    assert few["cuts"][0] == full["cuts"][0] and few["cuts"][-1] == full["cuts"][-1]
    for a, b in zip(few["classes"], full["classes"], strict=True):
        assert a["tp"][-1] == b["tp"][-1] and a["fp"][-1] == b["fp"][-1]
