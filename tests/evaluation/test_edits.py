"""Edited inputs evaluated by re-matching only the groups an edit can change equal a full
evaluation of the edited inputs, bit for bit, including the cases the splice must detect:
a removed detection or GT that had a partner, removals past the maxDets cut, ties between
identical GT boxes, crowd GT, new and moved detections, several thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from predscope.evaluation.accumulate import accumulate
from predscope.evaluation.edits import Edit, EditedEvaluations
from predscope.evaluation.matching import match
from predscope.evaluation.params import CocoParams, single_threshold_params
from predscope.evaluation.subset import gt_as_detections, take_detections
from tests.evaluation._coco_eval_helpers import coco_inputs


def _case(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Crowded groups (more detections than maxDets), duplicated GT boxes and crowd regions."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    for iid in range(1, 9):
        images.append({"id": iid, "width": 200, "height": 200})
        boxes = []
        for _ in range(int(rng.integers(0, 7))):
            box = [float(v) for v in rng.uniform(0, 120, 2)] + [
                float(v) for v in rng.uniform(10, 60, 2)
            ]
            cat = int(rng.integers(1, 3))
            for _copy in range(1 + int(rng.random() < 0.3)):  # an identical twin: IoU ties
                anns.append(
                    {
                        "id": len(anns) + 1,
                        "image_id": iid,
                        "category_id": cat,
                        "bbox": box,
                        "area": box[2] * box[3],
                        "iscrowd": int(rng.random() < 0.1),
                    }
                )
            boxes.append((box, cat))
        for _ in range(int(rng.integers(0, 14))):
            if boxes and rng.random() < 0.7:
                box, cat = boxes[int(rng.integers(len(boxes)))]
                box = [box[0] + float(rng.normal(0, 6)), box[1], box[2], box[3]]
            else:
                box, cat = [float(v) for v in rng.uniform(0, 150, 4)], int(rng.integers(1, 3))
            dets.append(
                {
                    "image_id": iid,
                    "category_id": cat,
                    "bbox": [round(v, 2) for v in box],
                    "score": float(rng.choice([0.3, 0.5, 0.9, float(rng.random())])),
                }
            )
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2)]
    return {"images": images, "annotations": anns, "categories": cats}, dets


PARAMS = {
    "one threshold": single_threshold_params(CocoParams(max_dets=(1, 3, 4)), 0.5),
    "several thresholds": CocoParams(max_dets=(4,), area_rng=((0.0, 1e10),), area_labels=("all",)),
    "area ranges (no splice)": CocoParams(max_dets=(1, 4)),
}


@pytest.mark.parametrize("name", list(PARAMS))
@pytest.mark.parametrize("seed", range(12))
def test_spliced_accumulation_equals_a_full_evaluation(name: str, seed: int) -> None:
    params = PARAMS[name]
    gt, dts = coco_inputs(*_case(seed))
    dt = dts
    state = match(gt, dt, params)
    edits = EditedEvaluations(gt, dt, params, state)
    rng = np.random.default_rng(100 + seed)
    nd, ng = dt.num_detections, gt.num_annotations
    for trial in range(8):
        dt_drop = rng.random(nd) < [0.05, 0.3, 0.0, 0.6][trial % 4]
        gt_drop = rng.random(ng) < [0.0, 0.2, 0.4, 0.1][trial % 4]
        added = added_at = None
        moved = np.flatnonzero(dt_drop)[: int(rng.integers(0, 4))]
        if trial % 4 == 1 and moved.size:  # dropped and put back with another class
            cat = (dt.category[moved] + 1) % len(gt.category_ids)
            added, added_at = take_detections(dt, moved, category=cat), moved
        if trial % 4 == 3:  # dropped and put back on a GT of its image (a perfect box)
            pairs = [(d, np.flatnonzero(gt.image == dt.image[d])) for d in moved]
            pairs = [(d, g[int(rng.integers(g.size))]) for d, g in pairs if g.size]
            if pairs:
                added_at = np.array([d for d, _ in pairs])
                partner = np.array([g for _, g in pairs])
                added = gt_as_detections(gt, partner, dt.score[added_at])
        edit = Edit(dt_drop=dt_drop, gt_drop=gt_drop, added=added, added_at=added_at)
        want = accumulate(match(*edit.apply(gt, dt), params), params)
        got = edits.accumulate(edit)
        for field in ("precision", "recall", "scores"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
