"""Grouping, IoU and greedy matching per (image, category, area range), as ``evaluateImg`` does.

Detections are sorted once by (group, -score, category, file order) and cut to ``maxDets[-1]``
per group; ground truth by (group, category, file order). pycocotools builds the same orders
(stable sorts over file order), so ties resolve identically.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation._kernels import counting_order, match_groups
from predscope.evaluation.block_iou import Blocks, block_iou, check_shapes
from predscope.evaluation.inputs import (
    BoolArray,
    CocoDetections,
    CocoGroundTruth,
    FloatArray,
    IntArray,
)
from predscope.evaluation.params import CocoParams
from predscope.exceptions import EvaluationError


@dataclass(frozen=True, eq=False)
class MatchState:
    """Matching of one evaluation, in sorted order (``d_index``/``g_index`` map back to inputs)."""

    num_eval_cats: int
    d_index: IntArray  # sorted position -> detection input row (only evaluated detections)
    d_cat: IntArray  # accumulation category (0 everywhere when categories are ignored)
    d_score: FloatArray
    d_rank: IntArray  # rank of the detection inside its group by score
    g_index: IntArray
    g_cat: IntArray
    codes: NDArray[np.int8]  # [A, T, Nd]
    match_gt: NDArray[np.int32]  # [T, Nd] sorted GT position or -1 (first area range)
    match_iou: FloatArray  # [T, Nd]
    gt_match: NDArray[np.int32]  # [T, Ng] sorted detection position or -1 (first area range)
    npig: IntArray  # [K, A] non-ignored GT per category and area range
    g_ignored: BoolArray  # [A, Ng] GT ignored in each area range

    @cached_property
    def score_order(self) -> tuple[IntArray, IntArray]:
        """``score_order`` of the state's detections, sorted once (accumulation and every
        edit of it, ``evaluation.edits``, read it)."""
        return score_order(self.num_eval_cats, self.d_cat, self.d_score)

    def sliced(self, **fields: Any) -> MatchState:
        """The state with other codes / matches / GT flags (``coco_eval.at_threshold``): the
        same detections in the same order, so the score order carries over."""
        if fields.keys() & {"num_eval_cats", "d_index", "d_cat", "d_score", "d_rank"}:
            raise EvaluationError("MatchState.sliced: the detections cannot change")
        out = replace(self, **fields)
        out.__dict__["score_order"] = self.score_order
        return out


def category_order(state: MatchState) -> list[IntArray]:
    """For each accumulation category, sorted positions of its detections in global score order."""
    return _category_order(state.num_eval_cats, state.d_cat, state.d_score)


def _category_order(
    num_k: int, d_cat: IntArray, d_score: FloatArray, only: BoolArray | None = None
) -> list[IntArray]:
    bounds = np.searchsorted(d_cat, np.arange(num_k + 1), side="left")
    out: list[IntArray] = []
    empty = np.zeros(0, dtype=np.int64)
    for k in range(num_k):
        if only is not None and not only[k]:
            out.append(empty)
            continue
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        local = np.argsort(-d_score[lo:hi], kind="stable")
        out.append((local + lo).astype(np.int64))
    return out


def score_order(
    num_k: int, d_cat: IntArray, d_score: FloatArray, only: BoolArray | None = None
) -> tuple[IntArray, IntArray]:
    """``category_order`` as one array: category k's are ``flat[bounds[k]:bounds[k + 1]]``.

    With ``only``, the other categories get an empty range (callers that reuse their figures).
    """
    orders = _category_order(num_k, d_cat, d_score, only)
    bounds = np.zeros(num_k + 1, dtype=np.int64)
    bounds[1:] = np.cumsum([o.size for o in orders])
    flat = np.concatenate(orders) if orders else np.zeros(0, dtype=np.int64)
    return bounds, flat.astype(np.int64)


def group_bounds(keys: IntArray) -> tuple[IntArray, IntArray]:
    if keys.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))).astype(np.int64)
    counts = np.diff(np.concatenate((starts, [keys.size]))).astype(np.int64)
    return starts, counts


def stable_order(keys: NDArray[np.integer[Any]], size: int) -> IntArray:
    """``np.argsort(keys, kind="stable")`` for keys in [0, size): by counting where ``size`` is
    not much larger than the array (a comparison sort of 300,000 keys costs 25-35 ms, this 2)."""
    if keys.size == 0 or size > 4 * keys.size + 65536 or keys.min() < 0 or keys.max() >= size:
        order: IntArray = np.argsort(keys, kind="stable")
        return order
    out = np.empty(keys.size, dtype=np.int64)
    counting_order(np.ascontiguousarray(keys, dtype=np.int64), int(size), out)
    return out


def kept_by_score(dt: CocoDetections, kept: IntArray) -> IntArray:
    """Rows ``kept`` (ascending) by descending score, ties in file order."""
    rows = dt.by_score
    if kept.size == rows.size:
        return rows
    inside = np.zeros(rows.size, dtype=np.bool_)
    inside[kept] = True
    picked: IntArray = rows[inside[rows]]
    return picked


def ties_by_category(dt: CocoDetections, rows: IntArray) -> IntArray:
    """Rows in (descending score, file) order reordered to (descending score, category, file):
    the order class-agnostic matching takes detections in. Only equal scores move."""
    if rows.size < 2:
        return rows
    score = dt.score[rows]
    tied = np.zeros(rows.size, dtype=np.bool_)  # in a run of equal scores
    np.equal(score[1:], score[:-1], out=tied[1:])
    if not tied.any():
        return rows
    tied[:-1] |= tied[1:]
    at = np.flatnonzero(tied)
    first = np.ones(at.size, dtype=np.bool_)  # each run's first row starts a new run
    np.not_equal(score[at[1:]], score[at[:-1]], out=first[1:])
    first[1:] |= at[1:] != at[:-1] + 1
    size = int(dt.category.max(initial=-1)) + 2
    key = (np.cumsum(first) - 1) * size + (dt.category[rows[at]] + 1)
    out = rows.copy()
    out[at] = rows[at][stable_order(key, int(key[-1] // size + 1) * size)]
    return out


def gt_ignore_base(gt: CocoGroundTruth, params: CocoParams) -> BoolArray:
    """The ``ignore`` flag pycocotools derives: crowd, and for keypoints no labelled keypoint."""
    base = gt.iscrowd.copy()
    if params.iou_type == "keypoints" and gt.num_keypoints is not None:
        base |= gt.num_keypoints == 0
    return base


def check_inputs(gt: CocoGroundTruth, dt: CocoDetections, params: CocoParams) -> None:
    if dt.num_detections and int(dt.image.max()) >= gt.num_images:
        row = int(np.flatnonzero(dt.image >= gt.num_images)[0])
        raise EvaluationError(
            f"CocoDetections.image[{row}]: image index {int(dt.image[row])} is not in the ground "
            f"truth ({gt.num_images} images) - detections must refer to ground-truth images"
        )
    if dt.num_detections and int(dt.category.max()) >= len(gt.category_ids):
        raise EvaluationError("CocoDetections.category: index beyond the ground-truth categories")
    check_shapes(gt, dt, params)


def _slice_flag(name: str, flag: BoolArray | None, n: int) -> BoolArray | None:
    if flag is None:
        return None
    arr = np.ascontiguousarray(flag, dtype=np.bool_).reshape(-1)
    if arr.shape[0] != n:
        raise EvaluationError(f"{name}: has {arr.shape[0]} entries for {n} rows - give one per row")
    return arr


def match(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    params: CocoParams,
    *,
    compat: bool = False,
    gt_in: BoolArray | None = None,
    dt_in: BoolArray | None = None,
) -> MatchState:
    """Sort, cut to maxDets, compute IoU only inside groups, and run the greedy matcher.

    ``gt_in`` / ``dt_in`` restrict the evaluation to an object slice the way an area range
    does: GT outside it are ignored, and so are unmatched detections outside it.
    """
    check_inputs(gt, dt, params)
    gt_in = _slice_flag("gt_in", gt_in, gt.num_annotations)
    dt_in = _slice_flag("dt_in", dt_in, dt.num_detections)
    num_img = gt.num_images
    use_cats = params.use_cats
    num_k = len(gt.category_ids) if use_cats else 1
    max_det = params.max_dets[-1]

    kept = np.flatnonzero(dt.category >= 0)
    d_cat_all = dt.category[kept]
    d_key_all = d_cat_all * num_img + dt.image[kept] if use_cats else dt.image[kept]
    # (group, -score, category, file order) by chained stable sorts, cheaper than one lexsort;
    # the category is constant inside a group where categories are used
    rows = kept_by_score(dt, kept)
    if not use_cats:
        rows = ties_by_category(dt, rows)
    order = np.searchsorted(kept, rows) if kept.size < dt.num_detections else rows
    order = order[stable_order(d_key_all[order], num_k * num_img if use_cats else num_img)]
    d_key = d_key_all[order]
    starts, counts = group_bounds(d_key)
    rank = np.arange(d_key.size, dtype=np.int64) - np.repeat(starts, counts)
    cut = rank < max_det
    d_index = kept[order][cut]
    d_key = d_key[cut]
    d_rank = rank[cut]
    dstart, dcount = group_bounds(d_key)
    group_keys = d_key[dstart] if d_key.size else np.zeros(0, np.int64)

    g_key_all = gt.category * num_img + gt.image if use_cats else gt.image
    g_index = np.lexsort((np.arange(gt.num_annotations), gt.category, g_key_all)).astype(np.int64)
    blocks = group_blocks(d_index, dstart, dcount, group_keys, g_index, g_key_all[g_index])
    iou = block_iou(gt, dt, params, blocks)
    return match_blocks(
        gt, dt, params, blocks, iou, d_rank, compat=compat, gt_in=gt_in, dt_in=dt_in
    )


def group_blocks(
    d_index: IntArray,
    dstart: IntArray,
    dcount: IntArray,
    group_keys: IntArray,
    g_index: IntArray,
    g_key: IntArray,
) -> Blocks:
    """Blocks of detection groups (``group_keys``) against the GT of the same key (``g_key``
    sorted, of the GT rows ``g_index``), pairs row-major one block after another."""
    gstart = np.searchsorted(g_key, group_keys, side="left").astype(np.int64)
    gcount = (np.searchsorted(g_key, group_keys, side="right") - gstart).astype(np.int64)
    sizes = dcount * gcount
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    return Blocks(d_index, g_index, dstart, dcount, gstart, gcount, offsets)


def match_blocks(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    params: CocoParams,
    blocks: Blocks,
    iou: FloatArray,
    d_rank: IntArray,
    *,
    compat: bool = False,
    gt_in: BoolArray | None = None,
    dt_in: BoolArray | None = None,
) -> MatchState:
    """The greedy matcher over sorted, cut groups and their pairs' IoU (``match``'s second half).

    Block b's detections are ``blocks.d_index[dstart[b]:][:dcount[b]]`` (every evaluated one
    in exactly one block), its pairs ``iou[offsets[b]:]`` row-major with ``gcount[b]`` columns,
    where more rows may follow them (``image_pairs`` keeps the rows matching does not take).
    """
    use_cats = params.use_cats
    num_k = len(gt.category_ids) if use_cats else 1
    d_index, g_index = blocks.d_index, blocks.g_index
    dstart, dcount = blocks.dstart, blocks.dcount
    gstart, gcount, offsets = blocks.gstart, blocks.gcount, blocks.offsets
    g_crowd = np.ascontiguousarray(gt.iscrowd[g_index])
    num_a = len(params.area_rng)
    num_t = params.iou_thrs.size
    nd = d_index.size
    ng = g_index.size
    # every evaluated detection belongs to a group, so the kernel writes every entry
    codes = np.empty((num_a, num_t, nd), dtype=np.int8)
    match_gt = np.empty((num_t, nd), dtype=np.int32)
    match_iou = np.empty((num_t, nd), dtype=np.float64)
    gt_match = np.full((num_t, ng), -1, dtype=np.int32)
    base = gt_ignore_base(gt, params)
    if gt_in is not None:
        base |= ~gt_in
    d_out = np.zeros(nd, np.bool_) if dt_in is None else np.ascontiguousarray(~dt_in[d_index])
    g_area = np.ascontiguousarray(gt.area[g_index])
    lo = np.array([r[0] for r in params.area_rng], dtype=np.float64)
    hi = np.array([r[1] for r in params.area_rng], dtype=np.float64)
    match_groups(
        dstart,
        dcount,
        gstart,
        gcount,
        offsets,
        iou,
        g_area,
        np.ascontiguousarray(base[g_index]),
        g_crowd,
        np.ascontiguousarray(gt.zero_id[g_index])
        if gt.zero_id is not None
        else np.zeros(ng, np.bool_),
        np.ascontiguousarray(dt.area[d_index]),
        d_out,
        lo,
        hi,
        params.iou_thrs,
        compat,
        codes,
        match_gt,
        match_iou,
        gt_match,
    )
    g_cat = gt.category[g_index] if use_cats else np.zeros(ng, dtype=np.int64)
    g_ignored = np.empty((num_a, ng), dtype=np.bool_)
    npig = np.zeros((num_k, num_a), dtype=np.int64)
    g_base = base[g_index]
    for a in range(num_a):
        g_ignored[a] = g_base | (g_area < lo[a]) | (g_area > hi[a])
        npig[:, a] = np.bincount(g_cat[~g_ignored[a]], minlength=num_k)[:num_k]
    return MatchState(
        num_eval_cats=num_k,
        d_index=d_index,
        d_cat=dt.category[d_index] if use_cats else np.zeros(nd, dtype=np.int64),
        d_score=dt.score[d_index],
        d_rank=d_rank,
        g_index=g_index,
        g_cat=g_cat,
        codes=codes,
        match_gt=match_gt,
        match_iou=match_iou,
        gt_match=gt_match,
        npig=npig,
        g_ignored=g_ignored,
    )
