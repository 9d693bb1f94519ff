"""Validation of evaluation inputs and parameters, and the summary keys."""

from __future__ import annotations

import numpy as np
import pytest

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth
from predscope.evaluation.params import CocoParams
from predscope.evaluation.summary import DETECTION_STAT_KEYS, KEYPOINT_STAT_KEYS, stat_specs
from predscope.exceptions import EvaluationError


def _gt(**kw: object) -> CocoGroundTruth:
    args: dict[str, object] = dict(
        num_images=2,
        category_ids=(1,),
        image=[0, 1],
        category=[0, 0],
        bbox=[[0, 0, 5, 5], [1, 1, 5, 5]],
        area=[25, 25],
        iscrowd=[0, 0],
    )
    args.update(kw)
    return CocoGroundTruth(**args)  # type: ignore[arg-type]


def test_default_thresholds_are_float64_linspace() -> None:
    p = CocoParams()
    assert p.iou_thrs.dtype == np.float64
    assert np.array_equal(p.iou_thrs, np.linspace(0.5, 0.95, 10))
    assert p.rec_thrs.size == 101 and p.max_dets == (1, 10, 100)
    kp = CocoParams.for_keypoints()
    assert kp.max_dets == (20,) and kp.area_labels == ("all", "medium", "large")
    assert [s.key for s in stat_specs(p)] == list(DETECTION_STAT_KEYS)
    assert [s.key for s in stat_specs(kp)] == list(KEYPOINT_STAT_KEYS)


@pytest.mark.parametrize(
    ("kw", "text"),
    [
        ({"iou_type": "mask"}, "iou_type"),
        ({"max_dets": ()}, "max_dets"),
        ({"area_labels": ("all",)}, "one label per range"),
        ({"iou_thrs": np.array([0.7, 0.5])}, "ascending"),
    ],
)
def test_bad_params(kw: dict[str, object], text: str) -> None:
    with pytest.raises(EvaluationError, match=text):
        CocoParams(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "text"),
    [
        ({"image": [0, 2]}, r"image\[1\]: index 2"),
        ({"category": [0, 1]}, r"category\[1\]"),
        ({"bbox": [[0, 0, 5]]}, "shape"),
        ({"area": [25.0, float("nan")]}, r"area\[1\]: NaN"),
        ({"iscrowd": [0]}, "has 1 entries"),
    ],
)
def test_bad_ground_truth(kw: dict[str, object], text: str) -> None:
    with pytest.raises(EvaluationError, match=text):
        _gt(**kw)


def test_detection_checks() -> None:
    with pytest.raises(EvaluationError, match=r"score\[0\]: NaN"):
        CocoDetections(image=[0], category=[0], bbox=[[0, 0, 1, 1]], area=[1], score=[float("nan")])
    dt = CocoDetections(image=[5], category=[0], bbox=[[0, 0, 1, 1]], area=[1], score=[1])
    with pytest.raises(EvaluationError, match="not in the ground truth"):
        evaluate_coco(_gt(), dt)
    with pytest.raises(EvaluationError, match="segm evaluation needs masks"):
        evaluate_coco(
            _gt(),
            CocoDetections(image=[0], category=[0], bbox=[[0, 0, 1, 1]], area=[1], score=[1]),
            CocoParams(iou_type="segm"),
        )


def test_no_detections_gives_zero_not_minus_one() -> None:
    empty = CocoDetections(image=[], category=[], bbox=np.zeros((0, 4)), area=[], score=[])
    ev = evaluate_coco(_gt(), empty)
    assert ev.stats["AP"] == 0.0 and ev.stats["AR100"] == 0.0
    assert ev.stats["APl"] == -1.0  # no large GT at all


def test_rle_take_and_concat_keep_every_mask_byte_for_byte() -> None:
    from predscope.evaluation.inputs import RleMasks

    counts = ["abc", "", "de", "fghij", "k"]
    masks = RleMasks(size=np.arange(10).reshape(5, 2), counts=counts)
    picked = masks.take(np.array([3, 0, 3, 1]))
    assert [picked.counts_at(i) for i in range(4)] == [b"fghij", b"abc", b"fghij", b""]
    assert picked.size.tolist() == [[6, 7], [0, 1], [6, 7], [2, 3]]
    both = RleMasks.concat([picked, masks.take(np.array([4])), masks.take(np.zeros(0, np.int64))])
    assert [both.counts_at(i) for i in range(len(both))] == [b"fghij", b"abc", b"fghij", b"", b"k"]
    assert len(masks.take(np.zeros(0, np.int64))) == 0
