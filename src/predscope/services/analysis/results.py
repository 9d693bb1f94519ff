"""The stored results document of a run: summary, per class, curves, confusion, calibration.

Everything is derived from one ``CocoEvaluation`` (``records.aggregate``) and the run's records,
so stored figures and ``predscope eval`` cannot disagree. ``PROVENANCE`` says which figures are
COCO's definition (parity-tested against pycocotools) and which are predscope's extensions
(defined in docs/metrics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation.errors import ERROR_KEYS, ErrorType
from predscope.evaluation.results import CocoEvaluation, Outcome
from predscope.evaluation.summary import mean_valid
from predscope.services.analysis.records import (
    CONFUSION_IOU,
    Aggregated,
    FrameMatch,
    Records,
    confusion,
)

CURVE_POINTS = 200  # raw PR operating points kept per class (the F1-best point always kept)
PROVENANCE = {
    "coco": ["stats", "per_class", "pr_curves.interpolated"],
    "extensions": [
        "counts",
        "errors (TIDE types, dAP)",
        "classes.tp",
        "classes.fp",
        "classes.fn",
        "classes.best_threshold",
        "pr_curves.points",
        "confusion",
        "calibration",
        "objects (outcome per threshold, partner, IoU)",
    ],
}


def _num(value: float) -> float | None:
    """JSON has no NaN: None stands for "undefined"."""
    return None if value is None or math.isnan(value) else float(value)


@dataclass(frozen=True, eq=False)
class Tallies:
    """The document's integer counts: per class TP / FP at IoU 0.5 and predictions, per
    threshold TP / FP / ignored (area "all"), and the confusion matrix. Counts add over images,
    so an incremental run takes the last run's and adds the changed images' new records' and
    subtracts their old ones' (exact, where a float sum would not be)."""

    class_tp: NDArray[np.int64]  # [K]
    class_fp: NDArray[np.int64]
    class_n: NDArray[np.int64]
    by_threshold: NDArray[np.int64]  # [T, 3]: TP, FP, ignored
    confusion: NDArray[np.int64]  # [K + 1, K + 1]

    def __add__(self, other: Tallies) -> Tallies:
        return Tallies(*(a + b for a, b in zip(_parts(self), _parts(other), strict=True)))

    def __sub__(self, other: Tallies) -> Tallies:
        return Tallies(*(a - b for a, b in zip(_parts(self), _parts(other), strict=True)))


def _parts(t: Tallies) -> tuple[NDArray[np.int64], ...]:
    return (t.class_tp, t.class_fp, t.class_n, t.by_threshold, t.confusion)


_COUNTED = (Outcome.TP, Outcome.FP, Outcome.IGNORED)


def tallies(records: Records, num_k: int, t50: int) -> Tallies:
    """The counts of ``records`` (see ``Tallies``)."""
    counted = records.d_cat >= 0
    codes = np.ascontiguousarray(records.d_codes[:, 0, :].T)  # area "all", [T, Nd]
    # a bincount per threshold row (a reduction per code over strided columns: 6x slower)
    per_t = np.stack([np.bincount(row, minlength=len(Outcome)) for row in codes])

    def by_class(rows: NDArray[np.bool_]) -> NDArray[np.int64]:
        return np.bincount(records.d_cat[rows & counted], minlength=num_k)[:num_k].astype(np.int64)

    codes50 = codes[t50]
    return Tallies(
        class_tp=by_class(codes50 == Outcome.TP),
        class_fp=by_class(codes50 == Outcome.FP),
        class_n=by_class(counted),
        by_threshold=per_t[:, [int(c) for c in _COUNTED]].astype(np.int64),
        confusion=confusion(records, num_k),
    )


def _document_tallies(doc: dict[str, Any]) -> Tallies:
    """The ``Tallies`` a results document states (the last run's, for ``Rebuild``)."""
    classes = doc["classes"]
    return Tallies(
        class_tp=np.array([c["tp"] for c in classes], dtype=np.int64),
        class_fp=np.array([c["fp"] for c in classes], dtype=np.int64),
        class_n=np.array([c["num_predictions"] for c in classes], dtype=np.int64),
        by_threshold=np.array(
            [[c["tp"], c["fp"], c["ignored"]] for c in doc["counts"]], dtype=np.int64
        ).reshape(-1, 3),
        confusion=np.array(doc["confusion"]["matrix"], dtype=np.int64),
    )


@dataclass(frozen=True, eq=False)
class Rebuild:
    """What an incremental run's document starts from: the last run's document, the classes
    to rebuild (``records.Reuse.touched``), and the changed images' records before and after."""

    results: dict[str, Any]
    touched: NDArray[np.bool_]
    gone: Records
    new: Records

    def tallies(self, num_k: int, t50: int) -> Tallies:
        before = _document_tallies(self.results)
        return before + tallies(self.new, num_k, t50) - tallies(self.gone, num_k, t50)


def _threshold_counts(ev: CocoEvaluation, counts: Tallies) -> list[dict[str, Any]]:
    npig = int(ev.match_state.npig[:, 0].sum())
    tp, fp, ignored = (counts.by_threshold[:, i] for i in range(3))
    return [
        {
            "iou": round(thr, 2),
            "tp": int(tp[t]),
            "fp": int(fp[t]),
            "fn": npig - int(tp[t]),
            "ignored": int(ignored[t]),
        }
        for t, thr in enumerate(ev.params.iou_thrs.tolist())
    ]


def _decimate(n: int, keep: int) -> np.ndarray:
    if n <= CURVE_POINTS:
        return np.arange(n)
    picks = np.unique(np.linspace(0, n - 1, CURVE_POINTS).round().astype(np.int64))
    return np.unique(np.concatenate([picks, [keep]])) if keep >= 0 else picks


def build_results(
    aggregated: Aggregated,
    records: Records,
    categories: list[dict[str, Any]],
    previous: Rebuild | None = None,
) -> dict[str, Any]:
    """The JSON-ready results of one run.

    With ``previous``, the untouched classes' entries are the last run's, as ``records.Reuse``
    takes over their figures, and the counts are the last run's plus the change.
    """
    ev = aggregated.ev
    p = ev.params
    precision, recall = ev.precision, ev.recall
    m = len(p.max_dets) - 1
    t50 = int(np.flatnonzero(p.iou_thrs == 0.5)[0])
    t75 = int(np.flatnonzero(p.iou_thrs == 0.75)[0])
    curves = aggregated.curves
    per_class: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    pr: list[dict[str, Any]] = []
    ar_key = f"AR{p.max_dets[-1]}"
    num_k = len(categories)
    counts = tallies(records, num_k, t50) if previous is None else previous.tallies(num_k, t50)
    tps, fps = counts.class_tp.tolist(), counts.class_fp.tolist()
    predictions = counts.class_n.tolist()
    for k, cat in enumerate(categories):
        if previous is not None and not previous.touched[k]:
            old = previous.results
            per_class.append(old["per_class"][k])
            classes.append(old["classes"][k])
            pr.append(old["pr_curves"][k])
            continue
        tp = tps[k]
        num_gt = int(ev.match_state.npig[k, 0])
        row = {
            "category_id": cat["feature_hash"],
            "name": cat["name"],
            "AP": mean_valid(precision[:, :, k, 0, m]),
            "AP50": mean_valid(precision[t50, :, k, 0, m]),
            "AP75": mean_valid(precision[t75, :, k, 0, m]),
            ar_key: mean_valid(recall[:, k, 0, m]),
        }
        per_class.append(row)
        curve = curves[k]
        classes.append(
            {
                **row,
                "shape": cat["shape"],
                "metric": cat.get("metric", p.iou_type),
                "num_gt": num_gt,
                "num_predictions": predictions[k],
                "tp": tp,
                "fp": fps[k],
                "fn": num_gt - tp,
                "best_threshold": _num(curve.best_threshold),
                "best_precision": _num(curve.best_precision),
                "best_recall": _num(curve.best_recall),
                "best_f1": _num(curve.best_f1),
            }
        )
        hits = np.flatnonzero(curve.scores == curve.best_threshold)
        pick = _decimate(curve.scores.size, int(hits[0]) if hits.size else -1)
        pr.append(
            {
                "name": cat["name"],
                "iou": 0.5,
                "points": {
                    "score": curve.scores[pick].tolist(),
                    "precision": [_num(v) for v in curve.precision[pick].tolist()],
                    "recall": [_num(v) for v in curve.recall[pick].tolist()],
                },
                "interpolated": {
                    f"{thr:.2f}": precision[t, :, k, 0, m].tolist()
                    for t, thr in enumerate(p.iou_thrs.tolist())
                },
            }
        )
    cal = aggregated.calibration
    names = [c["name"] for c in categories]
    return {
        "iou_type": p.iou_type,
        "stats": dict(ev.stats),
        "pycocotools_compat": False,
        "per_class": per_class,
        "classes": classes,
        "counts": _threshold_counts(ev, counts),
        "pr_curves": pr,
        "confusion": {
            "iou": CONFUSION_IOU,
            "labels": [*names, "(none)"],
            "matrix": counts.confusion.tolist(),
        },
        "calibration": None
        if cal is None
        else {
            "iou": 0.5,
            "edges": cal.edges.tolist(),
            "count": cal.count.tolist(),
            "mean_confidence": [_num(v) for v in cal.mean_confidence.tolist()],
            "accuracy": [_num(v) for v in cal.accuracy.tolist()],
            "ece": _num(cal.ece),
            "mce": _num(cal.mce),
        },
        "categories": categories,
        "provenance": PROVENANCE,
    }


def error_summary(
    records: Records, fm: FrameMatch, run_id: int, previous: dict[str, Any]
) -> dict[str, Any]:
    """TIDE counts (exact for every run) and dAP (from the last full run, which computes it).

    dAP fixes every error of a type across all frames and re-runs the engine, so it needs all
    frames: an incremental run keeps the last full run's dAP (``previous``: the last run's
    ``errors`` entry) and says which run that was.
    """
    counts = {
        key: int(np.count_nonzero(records.d_error == kind)) for kind, key in ERROR_KEYS.items()
    }
    counts["missed"] = int(np.count_nonzero(records.g_error == ErrorType.MISSED))
    if fm.tide.dap:
        dap: dict[str, Any] = dict(fm.tide.dap)
        dap_run: int | None = run_id
    else:
        dap, dap_run = previous.get("dap") or {}, previous.get("dap_run")
    return {
        "fg_iou": fm.tide.fg_iou,
        "bg_iou": fm.tide.bg_iou,
        "counts": counts,
        "dap": dap,
        "dap_run": dap_run,
    }
