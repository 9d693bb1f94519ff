"""Bootstrap confidence interval over images for the difference in mAP of two prediction sets
on the same ground truth.

Each resample draws the images with replacement. Matching is per image, so a resample never
re-matches: the stored match state of each set is re-accumulated with image multiplicities
(``_bootstrap_kernels``), which equals evaluating the resampled data set from scratch
(``resample_inputs`` builds that data set; the tests compare the two).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predscope.evaluation._bootstrap_kernels import resampled_ap
from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, FloatArray, IntArray
from predscope.evaluation.matching import category_order
from predscope.evaluation.params import CocoParams
from predscope.evaluation.results import CocoEvaluation
from predscope.evaluation.subset import take_detections, take_ground_truth
from predscope.exceptions import EvaluationError


@dataclass(frozen=True, eq=False)
class BootstrapInterval:
    """Percentile interval of ``stat``(A) - ``stat``(B) over ``n_resamples`` image resamples."""

    stat: str
    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    seed: int
    samples: FloatArray
    class_low: FloatArray | None = None  # per evaluated class: the interval of its AP(A) - AP(B)
    class_high: FloatArray | None = None  # (NaN where a resample leaves the class without GT)


def resample_weights(num_images: int, n_resamples: int, seed: int) -> IntArray:
    """[n_resamples, num_images] multiplicities: each resample draws ``num_images`` images."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, num_images, size=(n_resamples, num_images))
    weights = np.zeros((n_resamples, num_images), dtype=np.int64)
    rows = np.repeat(np.arange(n_resamples), num_images)
    np.add.at(weights, (rows, draws.ravel()), 1)
    return weights


def _same_params(a: CocoParams, b: CocoParams) -> bool:
    return (
        a.iou_type == b.iou_type
        and a.max_dets == b.max_dets
        and a.area_rng == b.area_rng
        and a.use_cats == b.use_cats
        and np.array_equal(a.iou_thrs, b.iou_thrs)
        and np.array_equal(a.rec_thrs, b.rec_thrs)
    )


def _all_index(params: CocoParams) -> int:
    labels = list(params.area_labels)
    return labels.index("all") if "all" in labels else 0


def resampled_map(
    ev: CocoEvaluation, gt: CocoGroundTruth, dt: CocoDetections, weights: IntArray
) -> FloatArray:
    """COCO "AP" (area "all", the last maxDets) of each resample, from ``ev``'s match state."""
    return resampled_aps(ev, gt, dt, weights)[0]


def resampled_aps(
    ev: CocoEvaluation, gt: CocoGroundTruth, dt: CocoDetections, weights: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Per resample: COCO "AP", and each evaluated class's AP ([resamples, classes], NaN where
    the resample holds no GT of the class), in one pass of the compiled kernel."""
    st = ev.match_state
    p = ev.params
    a = _all_index(p)
    w = np.ascontiguousarray(np.atleast_2d(weights), dtype=np.int64)
    if w.shape[1] != gt.num_images:
        raise EvaluationError(
            f"resampled_map: weights have {w.shape[1]} columns for {gt.num_images} images"
        )
    counted = ~st.g_ignored[a]
    npig = np.zeros((gt.num_images, st.num_eval_cats), dtype=np.int64)
    np.add.at(npig, (gt.image[st.g_index][counted], st.g_cat[counted]), 1)
    orders = category_order(st)
    bounds = np.zeros(st.num_eval_cats + 1, dtype=np.int64)
    bounds[1:] = np.cumsum([o.size for o in orders])
    flat = np.concatenate(orders) if orders else np.zeros(0, dtype=np.int64)
    out = np.empty(w.shape[0], dtype=np.float64)
    per_class = np.empty((w.shape[0], st.num_eval_cats), dtype=np.float64)
    resampled_ap(
        bounds,
        flat.astype(np.int64),
        np.ascontiguousarray(dt.image[st.d_index]),
        st.d_rank,
        st.d_score,
        np.ascontiguousarray(st.codes[a].T),
        *_sparse_by_class(npig),
        int(p.max_dets[-1]),
        p.rec_thrs,
        w,
        out,
        per_class,
    )
    return out, per_class


def _sparse_by_class(
    npig: IntArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """[images, K] GT counts as per-class lists of (image, count) where the count is not 0: a
    resample's positives per class then cost the images that hold the class, not all images."""
    k_idx, img_idx = np.nonzero(npig.T)
    ptr = np.zeros(npig.shape[1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(k_idx, minlength=npig.shape[1]), out=ptr[1:])
    return ptr, img_idx.astype(np.int64), npig[img_idx, k_idx].astype(np.int64)


def resample_inputs(
    gt: CocoGroundTruth, dt: CocoDetections, weights: IntArray
) -> tuple[CocoGroundTruth, CocoDetections]:
    """The resampled data set itself: image i repeated ``weights[i]`` times, copies adjacent,
    images in their original order (the slow, obviously-correct path)."""
    w = np.asarray(weights, dtype=np.int64).reshape(-1)
    image_rows = np.repeat(np.arange(gt.num_images), w)
    first = np.concatenate(([0], np.cumsum(w)[:-1]))
    g_rows, g_img, d_rows, d_img = [], [], [], []
    g_by = [np.flatnonzero(gt.image == i) for i in range(gt.num_images)]
    d_by = [np.flatnonzero(dt.image == i) for i in range(gt.num_images)]
    for i in range(gt.num_images):
        for c in range(int(w[i])):
            g_rows.append(g_by[i])
            g_img.append(np.full(g_by[i].size, first[i] + c))
            d_rows.append(d_by[i])
            d_img.append(np.full(d_by[i].size, first[i] + c))

    def cat(parts: list[IntArray]) -> IntArray:
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    new_gt = take_ground_truth(gt, cat(g_rows), image=cat(g_img), image_rows=image_rows)
    new_dt = take_detections(dt, cat(d_rows), image=cat(d_img))
    return new_gt, new_dt


def bootstrap_map_difference(
    gt: CocoGroundTruth,
    dt_a: CocoDetections,
    dt_b: CocoDetections,
    params: CocoParams | None = None,
    *,
    eval_a: CocoEvaluation | None = None,
    eval_b: CocoEvaluation | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """Percentile bootstrap of mAP(A) - mAP(B) over images (the same resamples for both sets).

    mAP is the COCO "AP" stat. Pass ``eval_a`` / ``eval_b`` (from ``evaluate_coco`` with the
    same ``params``) to reuse their match state; otherwise they are computed here.
    """
    if n_resamples < 1:
        raise EvaluationError(f"bootstrap: n_resamples is {n_resamples}, expected at least 1")
    if not 0.0 < confidence < 1.0:
        raise EvaluationError(f"bootstrap: confidence is {confidence}, expected 0 < c < 1")
    if gt.num_images == 0:
        raise EvaluationError("bootstrap: the ground truth has no images")
    p = params or (eval_a.params if eval_a is not None else CocoParams())
    ev_a = eval_a or evaluate_coco(gt, dt_a, p)
    ev_b = eval_b or evaluate_coco(gt, dt_b, p)
    if not _same_params(ev_a.params, ev_b.params):
        raise EvaluationError("bootstrap: the two evaluations used different parameters")
    weights = resample_weights(gt.num_images, n_resamples, seed)
    map_a, class_a = resampled_aps(ev_a, gt, dt_a, weights)
    map_b, class_b = resampled_aps(ev_b, gt, dt_b, weights)
    samples = map_a - map_b
    tail = (1.0 - confidence) / 2.0
    low, high = _percentiles(samples, tail)
    per_class = class_a - class_b
    bounds = [_percentiles(per_class[:, k], tail) for k in range(per_class.shape[1])]
    return BootstrapInterval(
        stat="AP",
        estimate=ev_a.stats["AP"] - ev_b.stats["AP"],
        low=low,
        high=high,
        confidence=confidence,
        n_resamples=n_resamples,
        seed=seed,
        samples=samples,
        class_low=np.array([b[0] for b in bounds], dtype=np.float64),
        class_high=np.array([b[1] for b in bounds], dtype=np.float64),
    )


def _percentiles(samples: FloatArray, tail: float) -> tuple[float, float]:
    """The (tail, 1 - tail) quantiles of the finite samples (NaN, NaN if there are none)."""
    finite = samples[np.isfinite(samples)]
    if not finite.size:
        return float("nan"), float("nan")
    return float(np.quantile(finite, tail)), float(np.quantile(finite, 1.0 - tail))
