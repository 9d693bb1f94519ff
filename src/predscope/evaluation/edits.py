"""Inputs edited in a few places (TIDE's fixes), evaluated by re-matching only what can change.

An ``Edit`` drops GT and detection rows and puts new detections at the file positions of
dropped ones. ``EditedEvaluations.accumulate`` gives what ``accumulate`` would give on the
edited inputs (``Edit.apply``) without matching them all again: COCO matching is independent
per (category, image) group, and inside a group removing a detection that matched no GT at
any threshold, or a GT that no detection matched, changes no other match (the greedy matcher
gives each detection the last of the best-IoU free GT, and a candidate never chosen is never
that one), unless the group held more than maxDets detections (the cut then admits another).
So the groups with a new detection, a removed partner, or a removal past the cut are matched
again, every other group keeps the base matching without its removed rows, and one
accumulation over both equals a full evaluation of the edited inputs bit for bit (tested
against it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predscope.evaluation.accumulate import (
    Accumulated,
    Matched,
    accumulate,
    accumulate_spliced,
)
from predscope.evaluation.inputs import BoolArray, CocoDetections, CocoGroundTruth, IntArray
from predscope.evaluation.matching import MatchState, gt_ignore_base, match
from predscope.evaluation.params import CocoParams
from predscope.evaluation.subset import concat_detections, take_detections, take_ground_truth


@dataclass(frozen=True, eq=False)
class Edit:
    """Rows dropped from the inputs, and detections ``added[i]`` put at the file position of
    dropped detection ``added_at[i]`` (a changed detection is dropped and added back)."""

    dt_drop: BoolArray
    gt_drop: BoolArray
    added: CocoDetections | None = None
    added_at: IntArray | None = None

    def apply(
        self, gt: CocoGroundTruth, dt: CocoDetections
    ) -> tuple[CocoGroundTruth, CocoDetections]:
        """The edited inputs themselves."""
        gt2 = take_ground_truth(gt, np.flatnonzero(~self.gt_drop)) if self.gt_drop.any() else gt
        keep = np.flatnonzero(~self.dt_drop)
        if self.added is None or self.added_at is None:
            return gt2, take_detections(dt, keep)
        both = concat_detections([take_detections(dt, keep), self.added])
        order = np.argsort(np.concatenate((keep, self.added_at)), kind="stable")
        return gt2, take_detections(both, order)


def _keys(category: IntArray, image: IntArray, num_img: int) -> IntArray:
    keys: IntArray = category.astype(np.int64) * num_img + image.astype(np.int64)
    return keys


def _member(values: IntArray, sorted_set: IntArray) -> BoolArray:
    """Which ``values`` (group keys, >= 0) are in ``sorted_set``: by a lookup table where the
    keys are few enough (a binary search per value costs 5-10x more), else by searching."""
    if sorted_set.size == 0:
        return np.zeros(values.shape[0], dtype=np.bool_)
    size = int(max(sorted_set[-1], values.max(initial=0))) + 1
    if size <= 4 * values.size + 65536 and values.min(initial=0) >= 0:
        table = np.zeros(size, dtype=np.bool_)
        table[sorted_set] = True
        found: BoolArray = table[values]
        return found
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    hit: BoolArray = sorted_set[at] == values
    return hit


def _overflowing(keys: IntArray, full: IntArray, max_det: int) -> IntArray:
    """Of the groups ``full`` (maxDets evaluated), those holding more detections than that."""
    full = np.unique(full)
    hit = _member(keys, full)
    counts = np.bincount(np.searchsorted(full, keys[hit]), minlength=full.size)
    over: IntArray = full[counts > max_det]
    return over


class EditedEvaluations:
    """Accumulations of edits of one evaluated input pair; what every edit shares (group keys,
    the base's score order) is computed once.

    ``state`` is ``match(gt, dt, params)`` (no slice, not compat). ``accumulate(edit)`` equals
    ``accumulate(match(*edit.apply(gt, dt), params), params)``.
    """

    def __init__(
        self, gt: CocoGroundTruth, dt: CocoDetections, params: CocoParams, state: MatchState
    ) -> None:
        self.gt, self.dt, self.params, self.state = gt, dt, params, state
        # matching per class and per one area range is what the splice relies on
        self.splices = params.use_cats and len(params.area_rng) == 1
        if not self.splices:
            return
        num_img = gt.num_images
        self.num_k = len(gt.category_ids)
        self.st_key = _keys(state.d_cat, dt.image[state.d_index], num_img)
        self.d_matched = (state.match_gt >= 0).any(axis=0)
        self.g_key = _keys(gt.category, gt.image, num_img)
        self.g_matched = np.zeros(gt.num_annotations, np.bool_)
        self.g_matched[state.g_index] = (state.gt_match >= 0).any(axis=0)
        self.rows = np.flatnonzero(dt.category >= 0)
        self.row_key = _keys(dt.category[self.rows], dt.image[self.rows], num_img)
        max_det = params.max_dets[-1]
        full = self.st_key[state.d_rank == max_det - 1]
        self.over = _overflowing(self.row_key, full, max_det) if full.size else full
        lo, hi = params.area_rng[0]
        self.g_counted = ~(gt_ignore_base(gt, params) | (gt.area < lo) | (gt.area > hi))
        self._matched: Matched | None = None

    def _base(self) -> Matched:
        if self._matched is None:
            st = self.state
            self._matched = Matched(
                key=self.st_key,
                image=self.dt.image[st.d_index],
                score=st.d_score,
                codes=np.ascontiguousarray(st.codes),
                order=st.score_order,
            )
        return self._matched

    def accumulate(self, edit: Edit) -> Accumulated:
        gt, dt, params, state = self.gt, self.dt, self.params, self.state
        if not self.splices:
            gt2, dt2 = edit.apply(gt, dt)
            return accumulate(match(gt2, dt2, params), params)
        num_img, num_k = gt.num_images, self.num_k
        dropped = edit.dt_drop[state.d_index]
        row_drop = edit.dt_drop[self.rows]
        touched = [
            self.st_key[dropped & self.d_matched],
            self.g_key[edit.gt_drop & self.g_matched],
            self.row_key[row_drop & _member(self.row_key, self.over)],
        ]
        added = edit.added
        add_key = np.zeros(0, dtype=np.int64)
        if added is not None and added.num_detections:
            add_key = _keys(added.category, added.image, num_img)
            touched.append(add_key[added.category >= 0])
        hot = np.unique(np.concatenate(touched))
        npig = np.bincount(gt.category[self.g_counted & ~edit.gt_drop], minlength=num_k)
        npig = npig[:num_k].astype(np.int64).reshape(num_k, 1)
        keep = ~dropped & ~_member(self.st_key, hot)
        if hot.size == 0:
            return accumulate_spliced(num_k, self._base(), keep, _nothing(num_k), npig, params)
        # the hot groups matched again; the others keep the base matching less the dropped
        g_rows = np.flatnonzero(~edit.gt_drop & _member(self.g_key, hot))
        d_rows = self.rows[~row_drop & _member(self.row_key, hot)]
        sub = take_detections(dt, d_rows)
        at = d_rows
        if added is not None and added.num_detections and edit.added_at is not None:
            a_rows = np.flatnonzero((added.category >= 0) & _member(add_key, hot))
            sub = concat_detections([sub, take_detections(added, a_rows)])
            at = np.concatenate((d_rows, edit.added_at[a_rows]))
        sub = take_detections(sub, np.argsort(at, kind="stable"))
        sub_state = match(take_ground_truth(gt, g_rows), sub, params)
        again = Matched(
            key=_keys(sub_state.d_cat, sub.image[sub_state.d_index], num_img),
            image=sub.image[sub_state.d_index],
            score=sub_state.d_score,
            codes=sub_state.codes,
            order=sub_state.score_order,
        )
        return accumulate_spliced(num_k, self._base(), keep, again, npig, params)


def _nothing(num_k: int) -> Matched:
    """No matched detections (an edit that re-matches no group)."""
    none = np.zeros(0, dtype=np.int64)
    return Matched(
        key=none,
        image=none,
        score=np.zeros(0),
        codes=np.zeros((1, 1, 0), dtype=np.int8),
        order=(np.zeros(num_k + 1, dtype=np.int64), none),
    )
