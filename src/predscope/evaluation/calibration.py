"""Calibration: does a score of 0.8 mean "right 80% of the time"?

Only meaningful for scores that are probabilities, so scores outside [0, 1] (Haar level weights, SVM
margins, logits) are refused rather than silently clipped. The correctness flag comes from the
caller, e.g. the COCO engine's TP flag per detection at one IoU threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from predscope.exceptions import EvaluationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CalibrationResult:
    """Reliability table (one entry per bin) and the errors derived from it.

    Bin b covers ``[edges[b], edges[b + 1])``; the last bin also holds 1.0. Empty bins have NaN mean
    confidence and accuracy and add nothing to the errors.
    """

    edges: FloatArray
    count: IntArray
    mean_confidence: FloatArray
    accuracy: FloatArray
    ece: float
    """Expected calibration error: sum over bins of count/n * |accuracy - mean confidence|; NaN if n
    = 0.
    """
    mce: float
    """Maximum calibration error: the largest such gap over non-empty bins; NaN if n = 0."""
    n: int


def calibration(
    scores: npt.ArrayLike, correct: npt.ArrayLike, n_bins: int = 10
) -> CalibrationResult:
    """Equal-width binning of ``scores`` in [0, 1]; ``correct`` is one 0/1 (or bool) flag per
    score.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise EvaluationError(
            f"calibration: argument 'n_bins' is {n_bins!r}, expected a positive integer"
        )
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    c_raw = np.asarray(correct).reshape(-1)
    if c_raw.shape[0] != s.shape[0]:
        raise EvaluationError(
            f"calibration: argument 'correct' has {c_raw.shape[0]} flags for {s.shape[0]} scores "
            "- pass one per score"
        )
    if c_raw.size and not np.all((c_raw == 0) | (c_raw == 1)):
        raise EvaluationError("calibration: argument 'correct' must hold only 0/1 or True/False")
    bad = np.nonzero(~((s >= 0.0) & (s <= 1.0)))[0]
    if bad.size:
        raise EvaluationError(
            f"calibration: argument 'scores' has {bad.size} value(s) outside [0, 1] (first: "
            f"index {int(bad[0])}, value {s[bad[0]]!r}) - calibration needs probabilities; "
            "rescale the scores or skip calibration"
        )
    ok = c_raw.astype(np.float64)
    bins = score_bins(s, n_bins)
    count = np.bincount(bins, minlength=n_bins).astype(np.int64)
    # a weighted bincount is float (the stubs say int)
    conf_sum = np.asarray(np.bincount(bins, weights=s, minlength=n_bins), dtype=np.float64)
    ok_sum = np.asarray(np.bincount(bins, weights=ok, minlength=n_bins), dtype=np.float64)
    return from_sums(count, conf_sum, ok_sum)


def score_bins(scores: FloatArray, n_bins: int) -> IntArray:
    """The bin of each score in [0, 1]."""
    # floor(s * n) puts a decimal such as 0.3 into the bin it starts, which searching the
    # linspace edges would not (0.3 < linspace(0, 1, 11)[3] in floating point)
    return np.minimum(np.floor(scores * n_bins).astype(np.int64), n_bins - 1)


def from_sums(count: IntArray, conf_sum: FloatArray, ok_sum: FloatArray) -> CalibrationResult:
    """The table from per-bin counts, score sums and correct counts (callers that sum by
    parts, e.g. per class, get the same table from the same sums)."""
    n_bins = int(count.size)
    filled = count > 0
    mean_conf = np.full(n_bins, np.nan)
    acc = np.full(n_bins, np.nan)
    mean_conf[filled] = conf_sum[filled] / count[filled]
    acc[filled] = ok_sum[filled] / count[filled]
    gap = np.abs(acc[filled] - mean_conf[filled])
    n = int(count.sum())
    ece = float(np.sum(count[filled] / n * gap)) if n else float("nan")
    mce = float(np.max(gap)) if n else float("nan")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for arr in (edges, count, mean_conf, acc):
        arr.setflags(write=False)
    return CalibrationResult(
        edges=edges, count=count, mean_confidence=mean_conf, accuracy=acc, ece=ece, mce=mce, n=n
    )
