"""Performance by property: precision, recall and AP per property bucket, and how much a property
matters for the outcome (Pearson correlation and mutual information).

Buckets are quantiles of the property over both sides (GT and predictions). AP per bucket is the
COCO definition on the slice "property in the bucket" (evaluation.slices), never a cut of the
global curve.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, FloatArray, IntArray
from predscope.evaluation.outcomes import single_threshold_outcomes
from predscope.evaluation.params import CocoParams
from predscope.evaluation.results import Outcome
from predscope.exceptions import EvaluationError


def quantile_edges(values: FloatArray, n_buckets: int = 10) -> FloatArray:
    """``n_buckets + 1`` quantile edges of the finite values; repeated edges collapse, so fewer
    buckets come back when many values are equal. Empty when no value is finite."""
    if n_buckets < 1:
        raise EvaluationError(f"quantile_edges: n_buckets is {n_buckets}, expected at least 1")
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.zeros(0)
    edges: FloatArray = np.unique(np.quantile(v, np.linspace(0.0, 1.0, n_buckets + 1)))
    if edges.size == 1:
        edges = np.array([edges[0], edges[0]])
    return edges


def bucket_of(values: FloatArray, edges: FloatArray) -> IntArray:
    """Bucket b holds ``edges[b] <= v < edges[b + 1]``, the last also ``v == edges[-1]``; -1 for
    NaN and values outside."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    nb = edges.size - 1
    if nb < 1:
        return np.full(v.shape[0], -1, dtype=np.int64)
    b = np.searchsorted(edges, v, side="right").astype(np.int64) - 1
    b[(v == edges[-1])] = nb - 1
    b[~np.isfinite(v) | (v < edges[0]) | (v > edges[-1])] = -1
    return b


@dataclass(frozen=True, eq=False)
class PropertyBuckets:
    """Per bucket: counts at ``iou_thr``, precision / recall (NaN where undefined) and COCO AP of
    the bucket's slice (NaN when the bucket has no GT)."""

    edges: FloatArray
    iou_thr: float
    num_dt: IntArray
    num_gt: IntArray
    tp: IntArray
    fp: IntArray
    fn: IntArray
    precision: FloatArray
    recall: FloatArray
    ap: FloatArray


def _ratio(num: IntArray, den: IntArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(den > 0, num / np.maximum(den, 1), np.nan)
    return out


def performance_by_property(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    gt_values: FloatArray,
    dt_values: FloatArray,
    params: CocoParams | None = None,
    *,
    iou_thr: float = 0.5,
    n_buckets: int = 10,
    edges: FloatArray | None = None,
) -> PropertyBuckets:
    """Precision of the predictions and recall of the GT whose property falls in each bucket
    (one IoU threshold, area all, the last maxDets), and each bucket's COCO AP."""
    gv = np.asarray(gt_values, dtype=np.float64).reshape(-1)
    dv = np.asarray(dt_values, dtype=np.float64).reshape(-1)
    if gv.shape[0] != gt.num_annotations or dv.shape[0] != dt.num_detections:
        raise EvaluationError(
            "performance_by_property: need one gt_values entry per GT row and one dt_values "
            f"entry per detection ({gt.num_annotations} / {dt.num_detections}), got "
            f"{gv.shape[0]} / {dv.shape[0]}"
        )
    e = quantile_edges(np.concatenate((gv, dv)), n_buckets) if edges is None else np.asarray(edges)
    if e.ndim != 1 or (e.size and np.any(np.diff(e) < 0)):
        raise EvaluationError("performance_by_property: edges must be ascending")
    nb = max(e.size - 1, 0)
    gb, db = bucket_of(gv, e), bucket_of(dv, e)
    one = single_threshold_outcomes(gt, dt, iou_thr, params=params)
    counted = one.gt_outcome != Outcome.IGNORED
    tp = np.bincount(db[(db >= 0) & (one.outcome == Outcome.TP)], minlength=nb)[:nb]
    fp = np.bincount(db[(db >= 0) & (one.outcome == Outcome.FP)], minlength=nb)[:nb]
    num_gt = np.bincount(gb[(gb >= 0) & counted], minlength=nb)[:nb]
    fn = np.bincount(gb[(gb >= 0) & one.gt_missed], minlength=nb)[:nb]
    num_dt = np.bincount(db[db >= 0], minlength=nb)[:nb]
    ap = np.full(nb, np.nan)
    ap_params = ap_only(params or CocoParams())
    for b in range(nb):
        if num_gt[b] == 0:
            continue
        value = evaluate_coco(gt, dt, ap_params, gt_in=gb == b, dt_in=db == b).stats["AP"]
        ap[b] = value if value >= 0 else np.nan
    return PropertyBuckets(
        edges=e,
        iou_thr=float(iou_thr),
        num_dt=num_dt.astype(np.int64),
        num_gt=num_gt.astype(np.int64),
        tp=tp.astype(np.int64),
        fp=fp.astype(np.int64),
        fn=fn.astype(np.int64),
        precision=_ratio(tp, tp + fp),
        recall=_ratio(num_gt - fn, num_gt),
        ap=ap,
    )


def ap_only(params: CocoParams) -> CocoParams:
    """The same parameters cut to what the "AP" stat reads (area "all", the last maxDets): the
    same AP, a fraction of the work."""
    labels = list(params.area_labels)
    a = labels.index("all") if "all" in labels else 0
    return replace(
        params,
        area_rng=(params.area_rng[a],),
        area_labels=("all",),
        max_dets=(params.max_dets[-1],),
    )


def pearson(x: FloatArray, y: FloatArray) -> float:
    """Pearson correlation of the pairs where both are finite; NaN if fewer than two pairs or
    either side is constant."""
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    b = np.asarray(y, dtype=np.float64).reshape(-1)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2:
        return float("nan")
    da, db = a - a.mean(), b - b.mean()
    den = np.sqrt(np.sum(da * da) * np.sum(db * db))
    return float(np.sum(da * db) / den) if den > 0 else float("nan")


def _discrete(v: FloatArray, n_bins: int) -> IntArray:
    """Codes of ``v``: its distinct values if there are at most ``n_bins``, else quantile bins."""
    uniq, codes = np.unique(v, return_inverse=True)
    if uniq.size <= n_bins:
        return codes.astype(np.int64)
    return bucket_of(v, quantile_edges(v, n_bins))


def mutual_information(x: FloatArray, y: FloatArray, n_bins: int = 10) -> float:
    """Plug-in mutual information (nats) of the finite pairs, each side discretised by
    ``_discrete``; NaN with fewer than two pairs."""
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    b = np.asarray(y, dtype=np.float64).reshape(-1)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2:
        return float("nan")
    ca, cb = _discrete(a, n_bins), _discrete(b, n_bins)
    na, nb = int(ca.max()) + 1, int(cb.max()) + 1
    joint = np.bincount(ca * nb + cb, minlength=na * nb).reshape(na, nb) / a.size
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    outer = pa[:, None] * pb[None, :]
    return float(max(0.0, np.sum(joint[nz] * np.log(joint[nz] / outer[nz]))))


@dataclass(frozen=True)
class Importance:
    """How much a property tells about the outcome, over ``n`` finite pairs."""

    pearson: float
    mutual_information: float
    n: int


def property_importance(values: FloatArray, outcome: FloatArray, n_bins: int = 10) -> Importance:
    """Pearson correlation and mutual information between a property and an outcome (e.g. the
    TP indicator, or IoU x TP as Encord Active used)."""
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    b = np.asarray(outcome, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise EvaluationError(
            f"property_importance: {a.shape[0]} values but {b.shape[0]} outcomes - one each"
        )
    n = int(np.count_nonzero(np.isfinite(a) & np.isfinite(b)))
    return Importance(pearson(a, b), mutual_information(a, b, n_bins), n)
