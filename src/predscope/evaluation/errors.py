"""TIDE error types (Bolya et al., ECCV 2020) on top of the COCO engine, and each type's dAP.

A detection that is not a true positive at the foreground IoU ``fg_iou`` (0.5) is tested, in
this order: localisation (same-class IoU in [bg, fg)), classification (IoU >= fg with a GT of
another class), duplicate (IoU >= fg with a same-class GT already matched), background (IoU <=
bg with every GT), and otherwise both. A GT that no detection matched and no localisation or
classification error explains is missed. dAP of a type = AP gained by fixing that type alone,
clamped at 0, where AP is the COCO AP at IoU ``fg_iou`` (area all, the last maxDets) and fixing
edits the inputs and evaluates them again (docs/metrics.md, "Error types"), re-matching only
the groups an edit can change (``evaluation.edits``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation._tide_kernels import best_partners
from predscope.evaluation.coco_eval import at_threshold, evaluate_coco
from predscope.evaluation.edits import Edit, EditedEvaluations
from predscope.evaluation.image_pairs import ImagePairs, image_pairs
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, FloatArray, IntArray
from predscope.evaluation.matching import gt_ignore_base
from predscope.evaluation.params import CocoParams, same_geometry, single_threshold_params
from predscope.evaluation.results import CocoEvaluation, Outcome
from predscope.evaluation.subset import gt_as_detections, take_detections
from predscope.evaluation.summary import summarize
from predscope.exceptions import EvaluationError


class ErrorType(IntEnum):
    """Error type of a detection (NONE = true positive) or a GT (NONE = matched)."""

    NONE = 0
    LOCALISATION = 1
    CLASSIFICATION = 2
    DUPLICATE = 3
    BACKGROUND = 4
    BOTH = 5
    MISSED = 6
    IGNORED = 7  # matched a crowd / ignored GT (detection), or the GT is crowd / ignored
    NOT_EVALUATED = 8  # beyond maxDets in its image and category, or category not in the GT


ERROR_KEYS: dict[ErrorType, str] = {
    ErrorType.LOCALISATION: "localisation",
    ErrorType.CLASSIFICATION: "classification",
    ErrorType.DUPLICATE: "duplicate",
    ErrorType.BACKGROUND: "background",
    ErrorType.BOTH: "both",
    ErrorType.MISSED: "missed",
}


@dataclass(frozen=True, eq=False)
class TideResult:
    """Error types, partners and best IoUs in input row order, plus counts and dAP per type."""

    fg_iou: float
    bg_iou: float
    ap: float
    dt_error: NDArray[np.int8]
    dt_partner: IntArray
    gt_error: NDArray[np.int8]
    best_iou_any: FloatArray
    best_gt_any: IntArray
    best_iou_same: FloatArray
    best_gt_same: IntArray
    gt_best_iou_any: FloatArray  # per GT: best IoU with any detection of any class (0 if none)
    gt_best_dt_any: IntArray  # that detection row, -1
    counts: dict[str, int]
    dap: dict[str, float]
    # precision[0, :, :, 0, 0] ([R, K]) of the evaluation at fg_iou, before and after fixing each
    # type (the latter only with dAP): what ``combine_dap`` needs to average classes measured
    # by different metrics as one category set
    precision: FloatArray | None = None
    fixed_precision: dict[str, FloatArray] | None = None


def _classify(
    outcome: NDArray[np.int8],
    best: FloatArray,
    arg: IntArray,
    fg: float,
    bg: float,
    matched: IntArray,
) -> tuple[NDArray[np.int8], IntArray]:
    """Error type and partner GT row per detection, from its four best IoUs (input order)."""
    n = outcome.shape[0]
    err = np.full(n, int(ErrorType.NOT_EVALUATED), dtype=np.int8)
    partner = np.full(n, -1, dtype=np.int64)
    err[outcome == Outcome.IGNORED] = ErrorType.IGNORED
    tp = outcome == Outcome.TP
    err[tp] = ErrorType.NONE
    partner[tp] = matched[tp]
    left = outcome == Outcome.FP
    tests = (
        (ErrorType.LOCALISATION, (best[1] >= bg) & (best[1] < fg) & (arg[1] >= 0), arg[1]),
        (ErrorType.CLASSIFICATION, (best[2] >= fg) & (arg[2] >= 0), arg[2]),
        (ErrorType.DUPLICATE, (best[3] >= fg) & (arg[3] >= 0), arg[3]),
        (ErrorType.BACKGROUND, best[0] <= bg, np.full(n, -1, np.int64)),
        (ErrorType.BOTH, np.ones(n, np.bool_), arg[0]),
    )
    for kind, hit, who in tests:
        take = left & hit
        err[take] = kind
        partner[take] = who[take]
        left &= ~take
    return err, partner


def _gt_errors(
    ev: CocoEvaluation,
    ignored: NDArray[np.bool_],
    dt_err: NDArray[np.int8],
    partner: IntArray,
    score: FloatArray,
) -> NDArray[np.int8]:
    ng = ignored.shape[0]
    out = np.full(ng, int(ErrorType.MISSED), dtype=np.int8)
    out[ev.outcomes.gt_matched_by[0] >= 0] = ErrorType.NONE
    # an unmatched GT explained by a localisation / classification error takes the type of the
    # highest-scoring such detection
    explain = np.flatnonzero(
        ((dt_err == ErrorType.LOCALISATION) | (dt_err == ErrorType.CLASSIFICATION)) & (partner >= 0)
    )
    explain = explain[np.argsort(score[explain], kind="stable")]  # ascending: best written last
    free = out[partner[explain]] == ErrorType.MISSED
    out[partner[explain[free]]] = dt_err[explain[free]]
    out[ignored] = ErrorType.IGNORED
    return out


def _winners(
    kind: ErrorType,
    dt_err: NDArray[np.int8],
    partner: IntArray,
    score: FloatArray,
    gt_used: NDArray[np.bool_],
) -> tuple[IntArray, IntArray]:
    """Of the detections with error ``kind``: the one fixed per free GT (highest score, first in
    input order on ties) and the rest (suppressed)."""
    rows = np.flatnonzero(dt_err == kind)
    rows = rows[np.lexsort((rows, -score[rows]))]
    free = ~gt_used[partner[rows]]
    cand = rows[free]
    _, first = np.unique(partner[cand], return_index=True)
    win = np.sort(cand[first])
    lose = np.setdiff1d(rows, win)
    return win, lose


def fix_edit(
    kind: ErrorType,
    gt: CocoGroundTruth,
    dt: CocoDetections,
    dt_err: NDArray[np.int8],
    partner: IntArray,
    gt_err: NDArray[np.int8],
    gt_used: NDArray[np.bool_],
) -> Edit:
    """The inputs' edit that fixes every error of ``kind`` (and nothing else)."""
    no_gt = np.zeros(gt.num_annotations, np.bool_)
    if kind == ErrorType.MISSED:
        return Edit(dt_drop=np.zeros(dt.num_detections, np.bool_), gt_drop=gt_err == kind)
    if kind in (ErrorType.LOCALISATION, ErrorType.CLASSIFICATION):
        win, lose = _winners(kind, dt_err, partner, dt.score, gt_used)
        drop = np.zeros(dt.num_detections, np.bool_)
        drop[lose] = True
        drop[win] = True  # and put back fixed, in its place
        if kind == ErrorType.LOCALISATION:
            # the winner takes its GT's geometry (same class): a perfect localisation
            fixed = gt_as_detections(gt, partner[win], dt.score[win])
        else:  # the right class, geometry unchanged
            fixed = take_detections(dt, win, category=gt.category[partner[win]])
        return Edit(dt_drop=drop, gt_drop=no_gt, added=fixed, added_at=win)
    return Edit(dt_drop=dt_err == kind, gt_drop=no_gt)  # duplicate, background, both: suppressed


def tide_errors(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    params: CocoParams | None = None,
    *,
    fg_iou: float = 0.5,
    bg_iou: float = 0.1,
    with_dap: bool = True,
    base: CocoEvaluation | None = None,
    pairs: ImagePairs | None = None,
) -> TideResult:
    """Error type of every detection and GT, best IoUs and partners, counts and dAP.

    ``base``: ``evaluate_coco(gt, dt, params)`` when the caller has it; its slice at ``fg_iou``
    (``coco_eval.at_threshold``) spares matching again. ``pairs``: ``image_pairs(gt, dt,
    params)`` when the caller has them (the confusion matrix's matching uses them too).
    """
    if not (0.0 <= bg_iou <= fg_iou <= 1.0):
        raise EvaluationError(
            f"tide_errors: need 0 <= bg_iou <= fg_iou <= 1, got bg_iou={bg_iou}, fg_iou={fg_iou}"
        )
    p = single_threshold_params(params, fg_iou)
    ev = (at_threshold(base, gt, dt, p) if base is not None else None) or evaluate_coco(gt, dt, p)
    if pairs is None:
        pairs = image_pairs(gt, dt, p)
    elif not same_geometry(pairs.params, p):
        raise EvaluationError("tide_errors: pairs were computed with another IoU geometry")
    ignored = gt_ignore_base(gt, p)
    gt_used = ev.outcomes.gt_matched_by[0] >= 0
    nd, ng = dt.num_detections, gt.num_annotations
    best = np.zeros((4, nd))
    arg = np.full((4, nd), -1, dtype=np.int64)
    gt_best = np.zeros(ng)
    gt_arg = np.full(ng, -1, dtype=np.int64)
    b = pairs.blocks
    best_partners(
        b.dstart,
        b.dcount,
        b.gstart,
        b.gcount,
        b.offsets,
        pairs.iou,
        b.d_index,
        b.g_index,
        dt.category,
        gt.category,
        ignored,
        gt_used,
        best,
        arg,
        gt_best,
        gt_arg,
    )
    outcome = ev.outcomes.outcome[0]
    dt_err, partner = _classify(outcome, best, arg, fg_iou, bg_iou, ev.outcomes.matched_gt[0])
    gt_err = _gt_errors(ev, ignored, dt_err, partner, dt.score)
    counts = {key: int(np.count_nonzero(dt_err == kind)) for kind, key in ERROR_KEYS.items()}
    counts["missed"] = int(np.count_nonzero(gt_err == ErrorType.MISSED))
    ap = ev.stats["AP"]
    dap: dict[str, float] = {}
    fixed_precision: dict[str, FloatArray] = {}
    if with_dap:
        edits = EditedEvaluations(gt, dt, p, ev.match_state)
        for kind, key in ERROR_KEYS.items():
            edit = fix_edit(kind, gt, dt, dt_err, partner, gt_err, gt_used)
            acc = edits.accumulate(edit)
            fixed = summarize(p, acc.precision, acc.recall)["AP"]
            dap[key] = max(fixed - ap, 0.0) if ap >= 0 and fixed >= 0 else 0.0
            fixed_precision[key] = acc.precision[0, :, :, 0, 0]
    return TideResult(
        fg_iou=float(fg_iou),
        bg_iou=float(bg_iou),
        ap=ap,
        dt_error=dt_err,
        dt_partner=partner,
        gt_error=gt_err,
        best_iou_any=best[0],
        best_gt_any=arg[0],
        best_iou_same=best[1],
        best_gt_same=arg[1],
        gt_best_iou_any=gt_best,
        gt_best_dt_any=gt_arg,
        counts=counts,
        dap=dap,
        precision=ev.precision[0, :, :, 0, 0].copy(),  # not a view holding the whole sweep
        fixed_precision=fixed_precision if with_dap else None,
    )


def combine_dap(parts: list[TideResult], owner: IntArray) -> tuple[float, dict[str, float]]:
    """AP at fg_iou and dAP over classes measured by different metrics, as one category set.

    ``parts[g]`` evaluated the classes with ``owner[k] == g`` (every class index present in
    each, the others without ground truth); class k's precision column comes from its part, and
    AP is the mean of the valid entries over all classes, as COCO averages one category set.
    """
    if len(parts) == 1:
        return parts[0].ap, dict(parts[0].dap)

    def pick(columns: list[FloatArray]) -> FloatArray:
        out = columns[0].copy()
        for g, col in enumerate(columns):
            out[:, owner == g] = col[:, owner == g]
        return out

    def mean(values: FloatArray) -> float:
        valid = values[values > -1]
        return -1.0 if valid.size == 0 else float(np.mean(valid))

    base = [p.precision for p in parts]
    if any(b is None for b in base):
        raise EvaluationError("combine_dap: every part needs its precision")
    ap = mean(pick([b for b in base if b is not None]))
    dap: dict[str, float] = {}
    fixed_parts = [p.fixed_precision for p in parts]
    if all(f for f in fixed_parts):
        for key in ERROR_KEYS.values():
            fixed = mean(pick([f[key] for f in fixed_parts if f]))
            dap[key] = max(fixed - ap, 0.0) if ap >= 0 and fixed >= 0 else 0.0
    return ap, dap
