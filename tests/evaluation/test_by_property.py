"""Performance by property and importance against direct definitions and pycocotools."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from predscope.evaluation.by_property import (
    bucket_of,
    mutual_information,
    pearson,
    performance_by_property,
    property_importance,
    quantile_edges,
)
from predscope.evaluation.outcomes import single_threshold_outcomes
from predscope.evaluation.results import Outcome
from predscope.exceptions import EvaluationError
from tests.evaluation._coco_eval_helpers import coco_inputs, make_case, run_pycocotools


def test_buckets_by_area_equal_the_definition_and_pycocotools_area_ranges() -> None:
    gt, dt = make_case(3, n_img=20, dets_per_img=30)
    gti, dti = coco_inputs(gt, dt)
    res = performance_by_property(gti, dti, gti.area, dti.area, n_buckets=4)
    assert res.edges.size == 5
    one = single_threshold_outcomes(gti, dti, 0.5)
    gb, db = bucket_of(gti.area, res.edges), bucket_of(dti.area, res.edges)
    for b in range(4):
        lo, hi = res.edges[b], res.edges[b + 1]
        last = b == 3
        in_dt = [(lo <= a < hi) or (last and a == hi) for a in dti.area]
        assert db.tolist() == [int(np.searchsorted(res.edges[1:-1], a, "right")) for a in dti.area]
        tp = sum(1 for i, ok in enumerate(in_dt) if ok and one.outcome[i] == Outcome.TP)
        fp = sum(1 for i, ok in enumerate(in_dt) if ok and one.outcome[i] == Outcome.FP)
        assert (res.tp[b], res.fp[b]) == (tp, fp)
        in_gt = (gb == b) & (one.gt_outcome != Outcome.IGNORED)
        assert res.num_gt[b] == in_gt.sum()
        assert res.fn[b] == (in_gt & one.gt_missed).sum()
        assert res.precision[b] == pytest.approx(tp / (tp + fp))
        # AP of the bucket is pycocotools' AP with that area range (the last edge included)
        top = hi if last else float(np.nextafter(hi, 0))
        ref = run_pycocotools(
            gt, dt, "bbox", tweak={"areaRng": [[lo, top]], "areaRngLbl": ["all"]}, summarize=False
        )
        p = ref.eval["precision"][:, :, :, 0, 2]
        assert res.ap[b] == pytest.approx(float(np.mean(p[p > -1])), abs=1e-12)


def test_quantile_edges_and_buckets() -> None:
    assert quantile_edges(np.array([np.nan])).size == 0
    e = quantile_edges(np.array([1.0, 1.0, 1.0]))
    assert bucket_of(np.array([1.0, 2.0, np.nan]), e).tolist() == [0, -1, -1]
    e = quantile_edges(np.arange(100.0), 4)
    assert e.tolist() == [0.0, 24.75, 49.5, 74.25, 99.0]
    assert bucket_of(np.array([0.0, 24.75, 99.0, -1.0]), e).tolist() == [0, 1, 3, -1]
    with pytest.raises(EvaluationError, match="n_buckets"):
        quantile_edges(np.arange(3.0), 0)


def _direct_pearson(x: list[float], y: list[float]) -> float:
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def _direct_mi(x: list[int], y: list[int]) -> float:
    n = len(x)
    pxy = Counter(zip(x, y, strict=True))
    px, py = Counter(x), Counter(y)
    return sum(c / n * math.log((c / n) / (px[a] / n * py[b] / n)) for (a, b), c in pxy.items())


def test_pearson_and_mutual_information_equal_direct_sums() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=500)
    tp = (x + rng.normal(scale=1.0, size=500) > 0).astype(float)
    assert pearson(x, tp) == pytest.approx(_direct_pearson(x.tolist(), tp.tolist()), rel=1e-12)
    codes = bucket_of(x, quantile_edges(x, 10))
    mi = mutual_information(x, tp, n_bins=10)
    assert mi == pytest.approx(_direct_mi(codes.tolist(), tp.astype(int).tolist()), rel=1e-12)
    assert mi > 0.05
    noise = rng.normal(size=500)
    assert mutual_information(noise, rng.integers(0, 2, 500).astype(float)) < mi / 3
    assert math.isnan(pearson(np.ones(5), np.arange(5.0)))
    imp = property_importance(np.append(x, np.nan), np.append(tp, 1.0))
    assert imp.n == 500 and imp.pearson == pytest.approx(pearson(x, tp))
