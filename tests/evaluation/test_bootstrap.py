"""The fast bootstrap (re-accumulating stored matches with image multiplicities) equals a naive
re-evaluation of the resampled data set, ties and maxDets cuts included."""

from __future__ import annotations

import numpy as np
import pytest

from predscope.evaluation.bootstrap import (
    bootstrap_map_difference,
    resample_inputs,
    resample_weights,
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
