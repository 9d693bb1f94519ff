"""Slices are the COCO definition on the subset: parity with pycocotools' own catIds, imgIds and
areaRng, and the object predicate reproduces area ranges exactly."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from predscope.evaluation.params import CocoParams
from predscope.evaluation.slices import Slice, evaluate_slice
from predscope.exceptions import EvaluationError
from tests.evaluation._coco_eval_helpers import (
    assert_parity,
    make_case,
    run_pycocotools,
)
from tests.evaluation._coco_eval_helpers import (
    coco_inputs as _inputs,
)


def _single_range(lo: float, hi: float) -> dict[str, object]:
    return {"areaRng": [[lo, hi]], "areaRngLbl": ["all"]}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("lo", "hi"), [(0.0, 32.0**2), (32.0**2, 96.0**2), (200.0, 900.0)])
def test_area_predicate_equals_pycocotools_area_range(seed: int, lo: float, hi: float) -> None:
    gt, dt = make_case(seed, n_img=15, dets_per_img=40)
    gti, dti = _inputs(gt, dt)
    gt_in = (gti.area >= lo) & (gti.area <= hi)
    dt_in = (dti.area >= lo) & (dti.area <= hi)
    ours = evaluate_slice(gti, dti, CocoParams(), Slice(gt_in=gt_in, dt_in=dt_in)).evaluation
    ref = run_pycocotools(gt, dt, "bbox", tweak=_single_range(lo, hi), summarize=False)
    # our "all" range is [0, 1e10]: the predicate alone restricts, as areaRng does
    for name in ("precision", "recall", "scores"):
        a = np.asarray(ref.eval[name])[..., 0, :] if name != "recall" else ref.eval[name][..., 0, :]
        b = getattr(ours, name)[..., 0, :]
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=name)


def test_half_open_predicate_equals_the_closed_range_just_below() -> None:
    gt, dt = make_case(5, n_img=15, dets_per_img=40)
    lo, hi = 100.0, 600.0
    gti, dti = _inputs(gt, dt)
    ours = evaluate_slice(
        gti,
        dti,
        CocoParams(),
        Slice(gt_in=(gti.area >= lo) & (gti.area < hi), dt_in=(dti.area >= lo) & (dti.area < hi)),
    ).evaluation
    ref = run_pycocotools(
        gt, dt, "bbox", tweak=_single_range(lo, float(np.nextafter(hi, 0))), summarize=False
    )
    np.testing.assert_allclose(
        ours.precision[..., 0, :], ref.eval["precision"][..., 0, :], rtol=0, atol=1e-12
    )


def test_segm_area_predicate_equals_pycocotools() -> None:
    gt, dt = make_case(3, n_img=10, segm=True)
    gti, dti = _inputs(gt, dt, "segm")
    lo, hi = 32.0**2, 96.0**2
    ours = evaluate_slice(
        gti,
        dti,
        CocoParams(iou_type="segm"),
        Slice(gt_in=(gti.area >= lo) & (gti.area <= hi), dt_in=(dti.area >= lo) & (dti.area <= hi)),
    ).evaluation
    ref = run_pycocotools(gt, dt, "segm", tweak=_single_range(lo, hi), summarize=False)
    np.testing.assert_allclose(
        ours.precision[..., 0, :], ref.eval["precision"][..., 0, :], rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("seed", [0, 4])
def test_class_slice_equals_pycocotools_cat_ids(seed: int) -> None:
    gt, dt = make_case(seed, n_img=15)
    gti, dti = _inputs(gt, dt)
    keep = [0, 2]
    res = evaluate_slice(gti, dti, CocoParams(), Slice(categories=keep))
    cat_ids = [gti.category_ids[k] for k in keep]
    ref = run_pycocotools(gt, dt, "bbox", tweak={"catIds": cat_ids})
    assert_parity(ref, res.evaluation)
    assert [c.category_id for c in res.evaluation.per_class] == cat_ids
    assert np.all(np.isin(gti.category[res.gt_rows], keep))


@pytest.mark.parametrize("seed", [1, 2])
def test_image_slice_equals_pycocotools_img_ids(seed: int) -> None:
    gt, dt = make_case(seed, n_img=15)
    gti, dti = _inputs(gt, dt)
    chosen = [1, 3, 4, 8, 11]
    res = evaluate_slice(gti, dti, CocoParams(), Slice(images=chosen))
    img_ids = [gti.image_ids[i] for i in chosen]
    ref = run_pycocotools(gt, dt, "bbox", tweak={"imgIds": sorted(img_ids)})
    assert_parity(ref, res.evaluation)
    assert set(gti.image[res.gt_rows].tolist()) <= set(chosen)
    assert set(dti.image[res.dt_rows].tolist()) <= set(chosen)


def test_attribute_predicate_equals_dropping_the_other_gt_only_when_nothing_overlaps() -> None:
    """A predicate is not a filter: a detection on a GT outside the slice is ignored, not FP."""
    gt, dt = make_case(7, n_img=12)
    gti, dti = _inputs(gt, dt)
    rng = np.random.default_rng(0)
    gt_in = rng.random(gti.num_annotations) < 0.5
    res = evaluate_slice(
        gti, dti, CocoParams(), Slice(gt_in=gt_in, dt_in=np.ones(dti.num_detections, bool))
    )
    # the same slice written as an ignore flag on a copy of the file
    gt2 = copy.deepcopy(gt)
    for ann, inside in zip(gt2["annotations"], gt_in, strict=True):
        if not inside:
            ann["area"] = -1.0  # outside [0, 1e10]: pycocotools ignores it
    ref = run_pycocotools(gt2, dt, "bbox", summarize=False)
    np.testing.assert_allclose(
        res.evaluation.precision[..., 0, :], ref.eval["precision"][..., 0, :], rtol=0, atol=1e-12
    )
    whole = evaluate_slice(gti, dti, CocoParams()).evaluation
    assert res.evaluation.stats["AP"] != whole.stats["AP"]


def test_bad_slices_are_refused() -> None:
    gt, dt = make_case(0, n_img=4)
    gti, dti = _inputs(gt, dt)
    with pytest.raises(EvaluationError, match="Slice.categories"):
        evaluate_slice(gti, dti, None, Slice(categories=[99]))
    with pytest.raises(EvaluationError, match="Slice.gt_in"):
        evaluate_slice(gti, dti, None, Slice(gt_in=np.ones(1, bool)))
