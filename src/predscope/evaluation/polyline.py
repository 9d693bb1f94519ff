"""Polyline matching by distance, since neither COCO nor Encord defines a polyline metric.

Two polylines agree when, walking along either one, the other stays close on average. The distance
is the *symmetric mean distance*: sample each curve at ``samples`` points evenly spaced by arc
length (both ends included), take each sample's distance to the other curve (exact
point-to-segment), average per direction, and average the two directions. It is in pixels, ignores
point order and direction, and does not depend on how densely either curve was clicked. A prediction
matches when the distance is at most the tolerance; matching is greedy by descending score per
(image, class), each prediction taking the closest GT still free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from predscope.exceptions import EvaluationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _check_line(name: str, idx: int, line: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(line, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise EvaluationError(
            f"polyline: {name}[{idx}] has shape {arr.shape}, expected (K, 2) pixel points with K "
            ">= 1"
        )
    if not np.all(np.isfinite(arr)):
        raise EvaluationError(
            f"polyline: {name}[{idx}] contains NaN or infinite coordinates - fix that polyline"
        )
    return arr


def resample(line: FloatArray, samples: int) -> FloatArray:
    """``samples`` points evenly spaced by arc length along ``line``, ends included."""
    seg = np.hypot(np.diff(line[:, 0]), np.diff(line[:, 1]))
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    if cum[-1] <= 0.0:
        return np.repeat(line[:1], samples, axis=0)
    keep = np.concatenate(([True], seg > 0))
    cum, pts = cum[keep], line[keep]
    at = np.linspace(0.0, cum[-1], samples)
    return np.stack((np.interp(at, cum, pts[:, 0]), np.interp(at, cum, pts[:, 1])), axis=1)


def point_to_polyline(points: FloatArray, line: FloatArray) -> FloatArray:
    """Distance from each point to the nearest point of ``line`` (a single point if it has one
    vertex).
    """
    if line.shape[0] == 1:
        out: FloatArray = np.hypot(points[:, 0] - line[0, 0], points[:, 1] - line[0, 1])
        return out
    p0 = line[:-1][None, :, :]
    d = (line[1:] - line[:-1])[None, :, :]
    q = points[:, None, :]
    len2 = np.sum(d * d, axis=2)
    dot = np.sum((q - p0) * d, axis=2)
    len2 = np.broadcast_to(len2, dot.shape)
    t = np.divide(dot, len2, out=np.zeros_like(dot), where=len2 > 0)
    t = np.clip(t, 0.0, 1.0)
    near = p0 + t[:, :, None] * d
    dist = np.hypot(q[:, :, 0] - near[:, :, 0], q[:, :, 1] - near[:, :, 1])
    result: FloatArray = np.min(dist, axis=1)
    return result


def symmetric_mean_distance(a: npt.ArrayLike, b: npt.ArrayLike, samples: int = 100) -> float:
    """Mean over both directions of the mean sample-to-curve distance, in the points' unit."""
    if samples < 2:
        raise EvaluationError(f"polyline: argument 'samples' is {samples}, expected at least 2")
    la = _check_line("a", 0, a)
    lb = _check_line("b", 0, b)
    ab = float(np.mean(point_to_polyline(resample(la, samples), lb)))
    ba = float(np.mean(point_to_polyline(resample(lb, samples), la)))
    return 0.5 * (ab + ba)


@dataclass(frozen=True)
class PolylineClassResult:
    """Counts and rates for one class; rates are 0.0 where their denominator is 0."""

    class_id: int
    n_gt: int
    n_pred: int
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class PolylineResult:
    """Per-class results plus, for each input prediction, its match and distance."""

    per_class: tuple[PolylineClassResult, ...]
    pred_matched_gt: IntArray
    """Index into the GT inputs of the GT each prediction matched, else -1."""
    pred_distance: FloatArray
    """Distance to the matched GT, or to the nearest GT of its image and class when unmatched (inf
    if none).
    """
    pred_tolerance: FloatArray
    """The tolerance, in pixels, that applied to each prediction."""
    precision: float
    recall: float
    f1: float
    """Micro averages over all classes."""


def _rates(tp: int, n_pred: int, n_gt: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gt if n_gt else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, f


def _as_index(name: str, value: npt.ArrayLike, n: int) -> IntArray:
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.reshape(0).astype(np.int64)
    if arr.ndim != 1 or arr.shape[0] != n or not np.issubdtype(arr.dtype, np.integer):
        raise EvaluationError(
            f"polyline: argument '{name}' must be {n} integers aligned with the polylines"
        )
    return arr.astype(np.int64)


def _tolerances(
    pred_image: IntArray,
    image_sizes: npt.ArrayLike | None,
    tolerance_px: float | None,
    fraction: float,
) -> FloatArray:
    if tolerance_px is not None:
        if not tolerance_px >= 0:
            raise EvaluationError(
                f"polyline: argument 'tolerance_px' is {tolerance_px}, expected a value >= 0"
            )
        return np.full(pred_image.shape[0], float(tolerance_px))
    if image_sizes is None:
        raise EvaluationError(
            "polyline: pass 'tolerance_px', or 'image_sizes' (width, height per image) for the "
            "default "
            "tolerance of a fraction of the image diagonal"
        )
    sizes = np.asarray(image_sizes, dtype=np.float64)
    if sizes.ndim != 2 or sizes.shape[1] != 2 or np.any(~(sizes > 0)):
        raise EvaluationError(
            "polyline: argument 'image_sizes' must be rows of positive (width, height)"
        )
    if pred_image.size and (pred_image.max() >= sizes.shape[0] or pred_image.min() < 0):
        raise EvaluationError(
            "polyline: 'pred_image' refers to an image with no row in 'image_sizes'"
        )
    result: FloatArray = fraction * np.hypot(sizes[pred_image, 0], sizes[pred_image, 1])
    return result


def evaluate_polylines(
    pred_image: npt.ArrayLike,
    pred_class: npt.ArrayLike,
    pred_lines: Sequence[npt.ArrayLike],
    pred_scores: npt.ArrayLike,
    gt_image: npt.ArrayLike,
    gt_class: npt.ArrayLike,
    gt_lines: Sequence[npt.ArrayLike],
    *,
    image_sizes: npt.ArrayLike | None = None,
    tolerance_px: float | None = None,
    tolerance_fraction: float = 0.02,
    samples: int = 100,
    class_ids: npt.ArrayLike | None = None,
) -> PolylineResult:
    """Greedy polyline matching per (image, class); points are in pixels.

    The tolerance is ``tolerance_px`` if given, else ``tolerance_fraction`` of the image diagonal
    from ``image_sizes[image] = (width, height)``.
    """
    if samples < 2:
        raise EvaluationError(f"polyline: argument 'samples' is {samples}, expected at least 2")
    preds = [_check_line("pred_lines", i, p) for i, p in enumerate(pred_lines)]
    gts = [_check_line("gt_lines", i, g) for i, g in enumerate(gt_lines)]
    pimg = _as_index("pred_image", pred_image, len(preds))
    pcls = _as_index("pred_class", pred_class, len(preds))
    gimg = _as_index("gt_image", gt_image, len(gts))
    gcls = _as_index("gt_class", gt_class, len(gts))
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    if scores.shape[0] != len(preds) or not np.all(np.isfinite(scores)):
        raise EvaluationError(
            f"polyline: argument 'pred_scores' must be {len(preds)} finite numbers"
        )
    tol = _tolerances(pimg, image_sizes, tolerance_px, tolerance_fraction)

    matched = np.full(len(preds), -1, dtype=np.int64)
    dist_out = np.full(len(preds), np.inf)
    gt_groups: dict[tuple[int, int], list[int]] = {}
    for g in range(len(gts)):
        gt_groups.setdefault((int(gimg[g]), int(gcls[g])), []).append(g)
    gt_samples = [resample(g, samples) for g in gts]
    taken = np.zeros(len(gts), dtype=np.bool_)
    for p in np.argsort(-scores, kind="stable"):
        cand = gt_groups.get((int(pimg[p]), int(pcls[p])), [])
        if not cand:
            continue
        ps = resample(preds[p], samples)
        d = np.array(
            [
                0.5
                * (
                    np.mean(point_to_polyline(ps, gts[g]))
                    + np.mean(point_to_polyline(gt_samples[g], preds[p]))
                )
                for g in cand
            ]
        )
        dist_out[p] = float(d.min())
        free = np.array([not taken[g] for g in cand]) & (d <= tol[p])
        if np.any(free):
            k = int(np.argmin(np.where(free, d, np.inf)))
            matched[p] = cand[k]
            dist_out[p] = float(d[k])
            taken[cand[k]] = True

    classes = (
        np.unique(np.concatenate((pcls, gcls)))
        if class_ids is None
        else np.asarray(class_ids).reshape(-1)
    )
    per_class = []
    for c in classes:
        n_pred = int(np.count_nonzero(pcls == c))
        n_gt = int(np.count_nonzero(gcls == c))
        tp = int(np.count_nonzero((pcls == c) & (matched >= 0)))
        p, r, f = _rates(tp, n_pred, n_gt)
        per_class.append(
            PolylineClassResult(int(c), n_gt, n_pred, tp, n_pred - tp, n_gt - tp, p, r, f)
        )
    total_tp = int(np.count_nonzero(matched >= 0))
    p, r, f = _rates(total_tp, len(preds), len(gts))
    for arr in (matched, dist_out, tol):
        arr.setflags(write=False)
    return PolylineResult(tuple(per_class), matched, dist_out, tol, p, r, f)
