"""The fast bootstrap (re-accumulating stored matches with image multiplicities) equals a naive
re-evaluation of the resampled data set, ties and maxDets cuts included."""

from __future__ import annotations

import numpy as np
import pytest

from predscope.evaluation.bootstrap import (
    bootstrap_map_difference,
    resample_inputs,
    resample_weights,
    resampled_aps,
    resampled_map,
)
from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.params import CocoParams
from predscope.exceptions import EvaluationError
from tests.evaluation._coco_eval_helpers import coco_inputs, make_case


@pytest.mark.parametrize(
    ("seed", "params"),
    [(0, CocoParams()), (1, CocoParams(max_dets=(1, 4, 8))), (2, CocoParams(use_cats=False))],
)
def test_fast_resample_equals_naive_reevaluation(seed: int, params: CocoParams) -> None:
    gt, dt = make_case(seed, n_img=14, dets_per_img=25, tie_scores=True)
    gti, dti = coco_inputs(gt, dt)
    ev = evaluate_coco(gti, dti, params)
    weights = resample_weights(gti.num_images, 4, seed)
    assert np.all(weights.sum(axis=1) == gti.num_images) and weights.max() > 1
    fast = resampled_map(ev, gti, dti, weights)
    for b in range(weights.shape[0]):
        rg, rd = resample_inputs(gti, dti, weights[b])
        naive = evaluate_coco(rg, rd, params).stats["AP"]
        assert fast[b] == pytest.approx(naive, abs=1e-12)
    ones = np.ones((1, gti.num_images), dtype=np.int64)
    assert resampled_map(ev, gti, dti, ones)[0] == pytest.approx(ev.stats["AP"], abs=1e-12)


def test_segm_resample_equals_naive_reevaluation() -> None:
    gt, dt = make_case(3, n_img=8, segm=True)
    gti, dti = coco_inputs(gt, dt, "segm")
    p = CocoParams(iou_type="segm")
    ev = evaluate_coco(gti, dti, p)
    w = resample_weights(gti.num_images, 1, 7)[0]
    rg, rd = resample_inputs(gti, dti, w)
    assert resampled_map(ev, gti, dti, w)[0] == pytest.approx(
        evaluate_coco(rg, rd, p).stats["AP"], abs=1e-12
    )


def test_interval_of_the_map_difference() -> None:
    gt, dt = make_case(5, n_img=30, dets_per_img=20, tie_scores=False)
    gti, dti = coco_inputs(gt, dt)
    rng = np.random.default_rng(0)
    worse = [dict(d, bbox=[v + float(rng.normal(0, 3)) for v in d["bbox"]]) for d in dt]
    for d in worse:
        d["bbox"][2] = max(d["bbox"][2], 1.0)
        d["bbox"][3] = max(d["bbox"][3], 1.0)
    _, dtb = coco_inputs(gt, worse)
    res = bootstrap_map_difference(gti, dti, dtb, n_resamples=300, seed=1)
    ea, eb = evaluate_coco(gti, dti), evaluate_coco(gti, dtb)
    assert res.estimate == pytest.approx(ea.stats["AP"] - eb.stats["AP"])
    assert res.low < res.estimate < res.high and res.low > 0  # jittered boxes are worse
    assert res.samples.shape == (300,)
    same = bootstrap_map_difference(gti, dti, dti, n_resamples=50, eval_a=ea, eval_b=ea)
    assert same.low == same.high == 0.0
    again = bootstrap_map_difference(gti, dti, dtb, n_resamples=300, seed=1)
    assert np.array_equal(again.samples, res.samples)
    with pytest.raises(EvaluationError, match="confidence"):
        bootstrap_map_difference(gti, dti, dtb, confidence=1.5)


def test_per_class_resampled_ap_equals_naive_reevaluation() -> None:
    gt, dt = make_case(3, n_img=14, dets_per_img=25, tie_scores=True)
    gti, dti = coco_inputs(gt, dt)
    params = CocoParams()
    ev = evaluate_coco(gti, dti, params)
    weights = resample_weights(gti.num_images, 4, 3)
    overall, per_class = resampled_aps(ev, gti, dti, weights)
    assert per_class.shape == (4, len(ev.per_class))
    for b in range(weights.shape[0]):
        rg, rd = resample_inputs(gti, dti, weights[b])
        naive = evaluate_coco(rg, rd, params)
        for k, c in enumerate(naive.per_class):
            if c.ap < 0:  # no GT of the class in this resample
                assert np.isnan(per_class[b, k])
            else:
                assert per_class[b, k] == pytest.approx(c.ap, abs=1e-12)
        assert overall[b] == pytest.approx(np.nanmean(per_class[b]), abs=1e-12)


def test_per_class_intervals_equal_percentiles_of_naive_resampled_differences() -> None:
    gt, dt_a = make_case(4, n_img=12, dets_per_img=15)
    rng = np.random.default_rng(5)
    dt_b = [dict(d, score=float(rng.random())) for d in dt_a if rng.random() < 0.8]
    gti, dta = coco_inputs(gt, dt_a)
    _, dtb = coco_inputs(gt, dt_b)
    n, seed = 20, 1
    interval = bootstrap_map_difference(gti, dta, dtb, n_resamples=n, seed=seed)
    weights = resample_weights(gti.num_images, n, seed)
    diffs = []
    for b in range(n):
        ra, rda = resample_inputs(gti, dta, weights[b])
        _, rdb = resample_inputs(gti, dtb, weights[b])
        pa, pb = evaluate_coco(ra, rda).per_class, evaluate_coco(ra, rdb).per_class
        diffs.append([x.ap - y.ap if x.ap >= 0 else np.nan for x, y in zip(pa, pb, strict=True)])
    d = np.asarray(diffs)
    assert interval.class_low is not None and interval.class_high is not None
    checked = 0
    for k in range(d.shape[1]):
        finite = d[:, k][np.isfinite(d[:, k])]
        if not finite.size:  # a class without ground truth
            assert np.isnan(interval.class_low[k]) and np.isnan(interval.class_high[k])
            continue
        assert interval.class_low[k] == pytest.approx(np.quantile(finite, 0.025), abs=1e-12)
        assert interval.class_high[k] == pytest.approx(np.quantile(finite, 0.975), abs=1e-12)
        checked += 1
    assert checked >= 2
