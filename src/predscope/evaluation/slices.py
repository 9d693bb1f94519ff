"""Metrics of a subset, computed as the COCO definition on that subset (never by filtering the
global curves).

* classes: only those categories exist (pycocotools' ``catIds``);
* images: only those images exist (``imgIds``);
* an object predicate (a property range, a nested attribute's answer): COCO's area-range rule,
  generalised - GT outside the slice are ignored, detections matched to them are ignored, and
  unmatched detections outside the slice are ignored. With the predicate ``lo <= area <= hi`` on
  both sides this is exactly pycocotools' ``areaRng = [lo, hi]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import BoolArray, CocoDetections, CocoGroundTruth, IntArray
from predscope.evaluation.params import CocoParams
from predscope.evaluation.results import CocoEvaluation
from predscope.evaluation.subset import take_detections, take_ground_truth
from predscope.exceptions import EvaluationError


@dataclass(frozen=True)
class Slice:
    """A subset: category indices, image indices, and object predicates (all optional, ANDed)."""

    categories: Sequence[int] | None = None
    images: Sequence[int] | None = None
    gt_in: BoolArray | None = None
    dt_in: BoolArray | None = None


@dataclass(frozen=True, eq=False)
class SliceEvaluation:
    """The evaluation of the subset; its row arrays refer to the subset's rows, which
    ``gt_rows`` / ``dt_rows`` map back to the caller's rows."""

    evaluation: CocoEvaluation
    gt_rows: IntArray
    dt_rows: IntArray
    category_index: IntArray  # the subset's categories as indices into gt.category_ids


def _flag(name: str, flag: BoolArray | None, n: int) -> BoolArray:
    if flag is None:
        return np.ones(n, dtype=np.bool_)
    arr = np.asarray(flag, dtype=np.bool_).reshape(-1)
    if arr.shape[0] != n:
        raise EvaluationError(f"Slice.{name}: has {arr.shape[0]} entries for {n} rows")
    return arr


def _indices(name: str, values: Sequence[int] | None, upper: int) -> IntArray:
    if values is None:
        return np.arange(upper, dtype=np.int64)
    arr = np.unique(np.asarray(list(values), dtype=np.int64))
    if arr.size and (arr[0] < 0 or arr[-1] >= upper):
        raise EvaluationError(f"Slice.{name}: an index is outside 0..{upper - 1}")
    return arr


def evaluate_slice(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    params: CocoParams | None = None,
    slice_: Slice | None = None,
    *,
    pycocotools_compat: bool = False,
) -> SliceEvaluation:
    """COCO metrics of ``slice_`` (the whole data set when it is empty)."""
    s = slice_ or Slice()
    num_k = len(gt.category_ids)
    cats = _indices("categories", s.categories, num_k)
    imgs = _indices("images", s.images, gt.num_images)
    new_cat = np.full(num_k + 1, -1, dtype=np.int64)  # slot num_k: the -1 "unknown" category
    new_cat[cats] = np.arange(cats.size)
    keep_img = np.zeros(gt.num_images, dtype=np.bool_)
    keep_img[imgs] = True
    gt_rows = np.flatnonzero(np.isin(gt.category, cats) & keep_img[gt.image])
    dt_ok = (dt.category >= 0) & np.isin(dt.category, cats)
    dt_ok &= keep_img[np.minimum(dt.image, gt.num_images - 1)] & (dt.image < gt.num_images)
    dt_rows = np.flatnonzero(dt_ok)
    names = gt.category_names or tuple(str(c) for c in gt.category_ids)
    sub_gt = take_ground_truth(
        gt,
        gt_rows,
        category=new_cat[gt.category[gt_rows]],
        category_ids=tuple(gt.category_ids[int(k)] for k in cats),
        category_names=tuple(names[int(k)] for k in cats),
    )
    sub_dt = take_detections(dt, dt_rows, category=new_cat[dt.category[dt_rows]])
    gt_in = _flag("gt_in", s.gt_in, gt.num_annotations)[gt_rows]
    dt_in = _flag("dt_in", s.dt_in, dt.num_detections)[dt_rows]
    ev = evaluate_coco(
        sub_gt,
        sub_dt,
        params,
        pycocotools_compat=pycocotools_compat,
        gt_in=None if s.gt_in is None else gt_in,
        dt_in=None if s.dt_in is None else dt_in,
    )
    return SliceEvaluation(evaluation=ev, gt_rows=gt_rows, dt_rows=dt_rows, category_index=cats)
