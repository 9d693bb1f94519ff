"""Parity with pycocotools, run live: 12 stats and full precision / recall / scores arrays."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from predscope.evaluation.params import CocoParams
from tests.evaluation._coco_eval_helpers import (
    DATA,
    assert_parity,
    make_case,
    make_keypoint_case,
    run_ours,
    run_pycocotools,
)

pytestmark = pytest.mark.parity

STAT_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "AP_small",
    "AP_medium",
    "AP_large",
    "AR1",
    "AR10",
    "AR100",
    "AR_small",
    "AR_medium",
    "AR_large",
)


def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


SHARED = [
    (
        "coco-val2014-100/instances_val2014_100.json",
        "coco-val2014-100/instances_val2014_fakebbox100_results.json",
        "bbox",
    ),
    (
        "coco-val2014-100/instances_val2014_100.json",
        "coco-val2014-100/instances_val2014_fakesegm100_results.json",
        "segm",
    ),
    (
        "detectron2-coco-mini/gt_val2017_139_285.json",
        "detectron2-coco-mini/dt_maskrcnn_139.json",
        "bbox",
    ),
    (
        "detectron2-coco-mini/gt_val2017_139_285.json",
        "detectron2-coco-mini/dt_maskrcnn_139.json",
        "segm",
    ),
]


@pytest.mark.parametrize(("gt_name", "dt_name", "iou_type"), SHARED)
def test_shared_data_matches_pycocotools(gt_name: str, dt_name: str, iou_type: str) -> None:
    gt, dt = _load(gt_name), _load(dt_name)
    if iou_type == "segm":  # detectron2 drops bbox before segm evaluation; so do we here
        dt = [{k: v for k, v in d.items() if k != "bbox"} for d in dt]
    ref = run_pycocotools(gt, dt, iou_type)
    ours = run_ours(gt, dt, iou_type)
    assert_parity(ref, ours)
    for k, row in enumerate(ours.per_class):
        prec = ref.eval["precision"][:, :, k, 0, -1]
        rec = ref.eval["recall"][:, k, 0, -1]
        exp_ap = float(np.mean(prec[prec > -1])) if (prec > -1).any() else -1.0
        exp_ar = float(np.mean(rec[rec > -1])) if (rec > -1).any() else -1.0
        assert abs(row.ap - exp_ap) <= 1e-12
        assert abs(row.ar - exp_ar) <= 1e-12


@pytest.mark.parametrize(("gt_name", "dt_name", "iou_type"), SHARED)
def test_shared_data_matches_published_values(gt_name: str, dt_name: str, iou_type: str) -> None:
    published = _load(gt_name.split("/")[0] + "/expected_published.json")[iou_type]
    gt, dt = _load(gt_name), _load(dt_name)
    if iou_type == "segm":
        dt = [{k: v for k, v in d.items() if k != "bbox"} for d in dt]
    ours = run_ours(gt, dt, iou_type)
    expected = [published[k] for k in STAT_NAMES]
    np.testing.assert_allclose(ours.stats_list, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_generated_cases_bbox(seed: int) -> None:
    gt, dt = make_case(seed, dets_per_img=150 if seed % 2 else 30)
    assert_parity(run_pycocotools(gt, dt), run_ours(gt, dt))


@pytest.mark.parametrize("seed", range(3))
def test_generated_cases_segm(seed: int) -> None:
    gt, dt = make_case(seed + 10, segm=True)
    assert_parity(run_pycocotools(gt, dt, "segm"), run_ours(gt, dt, "segm"))


def test_string_ids() -> None:
    gt, dt = make_case(21, string_ids=True)
    assert_parity(run_pycocotools(gt, dt), run_ours(gt, dt))


def test_unique_scores_and_no_crowd() -> None:
    gt, dt = make_case(22, tie_scores=False, crowd_rate=0.0)
    assert_parity(run_pycocotools(gt, dt), run_ours(gt, dt))


def test_results_with_bbox_and_segmentation_take_the_bbox_branch() -> None:
    gt, dt = make_case(23, segm=True)
    for d in dt:  # a box unrelated to the mask: its w*h becomes the area, as in loadRes
        d["bbox"] = [1.0, 1.0, 40.0, 30.0]
    assert_parity(run_pycocotools(gt, dt, "segm"), run_ours(gt, dt, "segm"))


def test_keypoints() -> None:
    gt, dt = make_keypoint_case(5, n_img=15)
    assert_parity(run_pycocotools(gt, dt, "keypoints"), run_ours(gt, dt, "keypoints"))


@pytest.mark.parametrize(
    ("tweak", "params"),
    [
        ({"iouThrs": np.array([0.5, 0.75])}, CocoParams(iou_thrs=np.array([0.5, 0.75]))),
        ({"maxDets": [1]}, CocoParams(max_dets=(1,))),
        ({"useCats": 0}, CocoParams(use_cats=False)),
        (
            {"areaRng": [[0, 1e10], [0, 400]], "areaRngLbl": ["all", "tiny"]},
            CocoParams(area_rng=((0, 1e10), (0, 400)), area_labels=("all", "tiny")),
        ),
    ],
)
def test_non_default_params(tweak: dict[str, Any], params: CocoParams) -> None:
    gt, dt = make_case(31, dets_per_img=120)
    ref = run_pycocotools(gt, dt, tweak=tweak, summarize=False)
    assert_parity(ref, run_ours(gt, dt, params=params), stats=False)


def _id_zero_case() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt, dt = make_case(41, crowd_rate=0.0)
    gt["annotations"][0]["id"] = 0
    first = gt["annotations"][0]
    dt.append(
        {
            "image_id": first["image_id"],
            "category_id": first["category_id"],
            "bbox": first["bbox"],
            "score": 0.99,
        }
    )
    return gt, dt


def test_id_zero_compat_reproduces_pycocotools() -> None:
    gt, dt = _id_zero_case()
    assert_parity(run_pycocotools(gt, dt), run_ours(gt, dt, compat=True))


def test_id_zero_default_counts_the_match() -> None:
    gt, dt = _id_zero_case()
    ours = run_ours(gt, dt)
    quirky = run_pycocotools(gt, dt)
    renumbered = json.loads(json.dumps(gt))
    renumbered["annotations"][0]["id"] = 10**6  # the same GT under a non-zero id
    assert_parity(run_pycocotools(renumbered, dt), ours)
    assert ours.stats["AP50"] > quirky.stats[1]


@pytest.mark.parametrize("seed", range(6))
def test_accumulation_equals_pycocotools_bit_for_bit(seed: int) -> None:
    """Accumulation keeps only true positives as operating points; the arrays still equal
    pycocotools' exactly, at recall thresholds of 0, just above 0 and at 1 too."""
    gt, dt = make_case(seed, dets_per_img=120 if seed % 2 else 30)
    rec = np.array([0.0, 1e-9, 0.25, 0.5, 1.0])
    for tweak, params in (({}, CocoParams()), ({"recThrs": rec}, CocoParams(rec_thrs=rec))):
        ref = run_pycocotools(gt, dt, tweak=tweak, summarize=False)
        ours = run_ours(gt, dt, params=params)
        for name in ("precision", "recall", "scores"):
            np.testing.assert_array_equal(getattr(ours, name), np.asarray(ref.eval[name]))
