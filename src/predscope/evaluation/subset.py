"""Row selection and assembly of evaluation inputs (slices, TIDE's fixed inputs, resamples).

Every geometry column travels with its rows, so a subset evaluates exactly like a file that only
ever held those annotations.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from predscope.evaluation.inputs import (
    CocoDetections,
    CocoGroundTruth,
    FloatArray,
    IntArray,
    Polylines,
    RleMasks,
)


def _masks(masks: RleMasks | None, rows: IntArray) -> RleMasks | None:
    if masks is None:
        return None
    return masks.take(rows)


def _lines(lines: Polylines | None, rows: IntArray) -> Polylines | None:
    return None if lines is None else lines.take(rows)


def _rows(arr: FloatArray | None, rows: IntArray) -> FloatArray | None:
    return None if arr is None else arr[rows]


def take_ground_truth(
    gt: CocoGroundTruth,
    rows: IntArray,
    *,
    category: IntArray | None = None,
    category_ids: tuple[object, ...] | None = None,
    category_names: tuple[str, ...] | None = None,
    image: IntArray | None = None,
    image_rows: IntArray | None = None,
) -> CocoGroundTruth:
    """GT rows ``rows`` (in that order); optionally with remapped categories, or with new image
    indices ``image`` into a new image list ``image_rows`` (new image -> old image index)."""
    r = np.asarray(rows, dtype=np.int64)
    num_images, image_ids, image_size = gt.num_images, gt.image_ids, gt.image_size
    if image_rows is not None:
        old = np.asarray(image_rows, dtype=np.int64)
        num_images = int(old.shape[0])
        image_ids = tuple(gt.image_ids[int(i)] for i in old) if gt.image_ids else ()
        image_size = None if gt.image_size is None else gt.image_size[old]
    return CocoGroundTruth(
        num_images=num_images,
        category_ids=gt.category_ids if category_ids is None else category_ids,
        image=gt.image[r] if image is None else image,
        category=gt.category[r] if category is None else category,
        bbox=gt.bbox[r],
        area=gt.area[r],
        iscrowd=gt.iscrowd[r],
        zero_id=None if gt.zero_id is None else gt.zero_id[r],
        category_names=gt.category_names if category_names is None else category_names,
        image_ids=image_ids,
        masks=_masks(gt.masks, r),
        keypoints=_rows(gt.keypoints, r),
        num_keypoints=None if gt.num_keypoints is None else gt.num_keypoints[r],
        annotation_ids=tuple(gt.annotation_ids[int(i)] for i in r) if gt.annotation_ids else (),
        rotated=_rows(gt.rotated, r),
        polylines=_lines(gt.polylines, r),
        image_size=image_size,
    )


def take_detections(
    dt: CocoDetections,
    rows: IntArray,
    *,
    category: IntArray | None = None,
    image: IntArray | None = None,
) -> CocoDetections:
    """Detection rows ``rows`` (in that order); optionally with other categories or images."""
    r = np.asarray(rows, dtype=np.int64)
    return CocoDetections(
        image=dt.image[r] if image is None else image,
        category=dt.category[r] if category is None else category,
        bbox=dt.bbox[r],
        area=dt.area[r],
        score=dt.score[r],
        masks=_masks(dt.masks, r),
        keypoints=_rows(dt.keypoints, r),
        rotated=_rows(dt.rotated, r),
        polylines=_lines(dt.polylines, r),
    )


def gt_as_detections(gt: CocoGroundTruth, rows: IntArray, score: FloatArray) -> CocoDetections:
    """GT rows turned into detections with ``score``: the geometry a perfect box would have."""
    r = np.asarray(rows, dtype=np.int64)
    keypoints = None
    if gt.keypoints is not None:
        keypoints = gt.keypoints[r].copy()
        keypoints[:, :, 2] = np.where(keypoints[:, :, 2] > 0, 1.0, 0.0)
    return CocoDetections(
        image=gt.image[r],
        category=gt.category[r],
        bbox=gt.bbox[r],
        area=gt.area[r],
        score=np.asarray(score, dtype=np.float64),
        masks=_masks(gt.masks, r),
        keypoints=keypoints,
        rotated=_rows(gt.rotated, r),
        polylines=_lines(gt.polylines, r),
    )


def concat_detections(parts: list[CocoDetections]) -> CocoDetections:
    """Rows of ``parts`` one after another (file order = this order)."""
    first = parts[0]

    def cat(name: str) -> FloatArray | None:
        cols = [getattr(p, name) for p in parts]
        return None if any(c is None for c in cols) else np.concatenate(cols)

    masks = None
    if all(p.masks is not None for p in parts):
        masks = RleMasks.concat([p.masks for p in parts if p.masks is not None])
    lines = None
    if all(p.polylines is not None for p in parts):
        lines = Polylines.from_lists(
            [
                p.polylines.line(i)
                for p in parts
                if p.polylines is not None
                for i in range(len(p.polylines))
            ]
        )
    return replace(
        first,
        image=np.concatenate([p.image for p in parts]),
        category=np.concatenate([p.category for p in parts]),
        bbox=np.concatenate([p.bbox for p in parts]),
        area=np.concatenate([p.area for p in parts]),
        score=np.concatenate([p.score for p in parts]),
        masks=masks,
        keypoints=cat("keypoints"),
        rotated=cat("rotated"),
        polylines=lines,
    )
