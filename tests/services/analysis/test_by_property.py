"""Performance by property counts exactly what the stored objects hold, bucket by bucket."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

import pytest

from predscope.services.analysis.by_property import PROPERTIES, performance_by_property
from predscope.services.analysis.runs import analyse
from predscope.store.engine import Store, open_store
from tests.services.analysis.analysis_fixtures import bbox_project, stored_objects


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Any]]:
    store = open_store(str(tmp_path_factory.mktemp("by-property") / "store"))
    project = bbox_project(store)
    analyse(store, project.record, "model")
    yield store, project.record
    store.close()


@pytest.mark.parametrize("iou", [0.5, 0.85])
def test_every_bucket_counts_the_stored_outcomes(analysed: tuple[Store, Any], iou: float) -> None:
    store, record = analysed
    t = round((iou - 0.5) / 0.05)
    objects = stored_objects(store)
    result = {
        p["name"]: p for p in performance_by_property(store, record, "model", iou_threshold=iou)
    }
    assert list(result) == [p[0] for p in PROPERTIES]
    for name, _, edges, _ in PROPERTIES:
        expected = [{"tp": 0, "fp": 0, "found": 0, "missed": 0} for _ in range(len(edges) + 1)]
        for r in objects:
            if r[name] is None:
                continue
            b = bisect.bisect_right(edges, r[name])  # [edge[i-1], edge[i])
            code = r[f"o{t}"]
            if r["kind"] == 0 and code in (0, 1):
                expected[b]["tp" if code == 1 else "fp"] += 1
            elif r["kind"] == 1 and code in (1, 4):
                expected[b]["found" if code == 1 else "missed"] += 1
        got = [{k: b[k] for k in ("tp", "fp", "found", "missed")} for b in result[name]["buckets"]]
        assert got == expected, name
        for b in result[name]["buckets"]:
            if b["predictions"]:
                assert b["precision"] == b["tp"] / b["predictions"]
            else:
                assert b["precision"] is None
    sizes = [b["label"] for b in result["area_px"]["buckets"]]
    assert sizes == ["small", "medium", "large"]
    total_gt = sum(b["ground_truth"] for b in result["area_px"]["buckets"])
    assert total_gt == sum(1 for r in objects if r["kind"] == 1 and r[f"o{t}"] in (1, 4))


def _mi(x: list[int], y: list[int]) -> float:
    """Mutual information in bits of two discrete samples, straight from the definition."""
    import numpy as np

    xs, ys = np.asarray(x), np.asarray(y)
    total = 0.0
    for a in set(x):
        for b in set(y):
            pxy = float(np.mean((xs == a) & (ys == b)))
            if pxy:
                total += pxy * np.log2(pxy / (np.mean(xs == a) * np.mean(ys == b)))
    return total


def test_importance_equals_numpys_correlation_and_the_definition_of_mi(
    analysed: tuple[Store, Any],
) -> None:
    import numpy as np

    store, record = analysed
    objects = stored_objects(store)
    result = performance_by_property(store, record, "model", iou_threshold=0.5)
    for prop, (name, _, edges, _) in zip(result, PROPERTIES, strict=True):
        for key, kind, codes in (("recall", 1, (4, 1)), ("precision", 0, (0, 1))):
            rows = [
                r for r in objects if r["kind"] == kind and r["o0"] in codes and r[name] is not None
            ]
            x = [float(r[name]) for r in rows]
            y = [1 if r["o0"] == 1 else 0 for r in rows]
            got = prop["importance"][key]
            if len(set(y)) < 2 or len(set(x)) < 2:
                assert got["correlation"] is None
            else:
                assert got["correlation"] == pytest.approx(float(np.corrcoef(x, y)[0, 1]), abs=1e-9)
            buckets = [bisect.bisect_right(edges, v) for v in x]
            if len(set(y)) < 2:
                assert got["mutual_information"] is None
            else:
                assert got["mutual_information"] == pytest.approx(_mi(buckets, y), abs=1e-12)
