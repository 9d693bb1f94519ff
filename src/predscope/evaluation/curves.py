"""Per-class precision-recall curves and the F1-optimal confidence threshold.

Raw (non-interpolated) curves at one IoU threshold, area "all", the last maxDets, from the same
matching as the COCO sweep. An operating point is "keep every detection with score >= s", so
only the last detection of a run of equal scores is a point. Ignored detections (crowd matches,
out-of-range) are skipped. The best threshold maximises F1 = 2PR / (P + R); on a tie the
higher threshold wins (fewer detections for the same F1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predscope.evaluation._kernels import FP, TP
from predscope.evaluation.inputs import BoolArray, FloatArray, IntArray
from predscope.evaluation.matching import category_order
from predscope.evaluation.results import CocoEvaluation


@dataclass(frozen=True, eq=False)
class PRCurve:
    """One class's curve; ``best_*`` are NaN when the class has no GT or no detection."""

    category_id: object
    name: str
    iou_thr: float
    num_gt: int
    scores: FloatArray  # operating-point thresholds, descending
    precision: FloatArray
    recall: FloatArray
    interpolated: FloatArray  # COCO's 101-point precision (-1 without GT)
    best_threshold: float
    best_precision: float
    best_recall: float
    best_f1: float


def pr_curves(
    ev: CocoEvaluation,
    iou_thr: float = 0.5,
    *,
    order: tuple[IntArray, IntArray] | None = None,
    only: BoolArray | None = None,
) -> tuple[PRCurve, ...]:
    """One curve per category of the evaluation (categories must not be merged).

    ``order`` is the match state's ``score_order`` when the caller has it; with ``only``, just
    those categories' curves, in category order.
    """
    state = ev.match_state
    t = ev.outcomes.threshold_index(iou_thr)
    alls = [i for i, lbl in enumerate(ev.params.area_labels) if lbl == "all"]
    a = alls[0] if alls else 0
    curves = []
    names = ev.category_names
    if order is None:
        orders = category_order(state)
    else:
        bounds, flat = order
        orders = [flat[bounds[k] : bounds[k + 1]] for k in range(bounds.size - 1)]
    for k, order_k in enumerate(orders):
        if only is not None and not only[k]:
            continue
        codes = state.codes[0, t, order_k]
        keep = codes != 2
        codes = codes[keep]
        scores = state.d_score[order_k][keep]
        tp = np.cumsum(codes == TP).astype(np.float64)
        fp = np.cumsum(codes == FP).astype(np.float64)
        npig = int(state.npig[k, 0])
        last = np.ones(scores.size, dtype=np.bool_)
        last[:-1] = scores[1:] != scores[:-1]
        tp, fp, scores = tp[last], fp[last], scores[last]
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = tp / (tp + fp)
            recall = tp / npig if npig else np.full(tp.shape, np.nan)
            f1 = np.where(
                precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0
            )
        if npig and scores.size:
            b = int(np.argmax(f1))
            best = (float(scores[b]), float(precision[b]), float(recall[b]), float(f1[b]))
        else:
            best = (np.nan, np.nan, np.nan, np.nan)
        interp = (
            ev.precision[t, :, k, a, -1].copy()
            if ev.params.use_cats
            else np.full(ev.params.rec_thrs.size, -1.0)
        )
        curves.append(
            PRCurve(
                category_id=ev.category_ids[k] if ev.params.use_cats else None,
                name=names[k] if ev.params.use_cats else "(all)",
                iou_thr=float(ev.params.iou_thrs[t]),
                num_gt=npig,
                scores=scores,
                precision=precision,
                recall=recall,
                interpolated=interp,
                best_threshold=best[0],
                best_precision=best[1],
                best_recall=best[2],
                best_f1=best[3],
            )
        )
    return tuple(curves)
