"""Performance by property: precision and recall of a prediction set per bucket of an object
property (area, share of the image, aspect ratio, distance to the border, objects per image),
at any stored IoU threshold, from the stored outcomes. Definitions: ``docs/metrics.md`` (10b).

>>> rows = performance_by_property(store, project, "model", iou_threshold=0.5)  # doctest: +SKIP
>>> rows[0]["name"], rows[0]["buckets"][0]["recall"]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.metrics import complete_set
from predscope.services.analysis.rows import KIND_CODES, OUTCOME_CODES
from predscope.services.query import THRESHOLDS, threshold_index
from predscope.store.analysis_buckets import bucket_counts, moment_sums
from predscope.store.branches import MAIN_BRANCH
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

# (property, label, bucket edges, unit of the edges): COCO's size ranges for the pixel area.
PROPERTIES: tuple[tuple[str, str, tuple[float, ...], str], ...] = (
    ("area_px", "Area (COCO size)", (32.0**2, 96.0**2), "px²"),
    ("area_share", "Share of the image", (0.01, 0.05, 0.2, 0.5), ""),
    ("aspect_ratio", "Aspect ratio (w / h)", (0.5, 0.8, 1.25, 2.0), ""),
    ("border_distance_share", "Distance to the border (share)", (0.01, 0.05, 0.15), ""),
    ("objects_in_image", "Objects in the image", (2.0, 6.0, 21.0), ""),
)
SIZE_NAMES = ("small", "medium", "large")


def _labels(
    name: str, edges: tuple[float, ...], unit: str
) -> list[tuple[str, float | None, float | None]]:
    """(label, low, high) per bucket; high is exclusive."""
    if name == "area_px":
        bounds = [None, *edges, None]
        return [(SIZE_NAMES[i], bounds[i], bounds[i + 1]) for i in range(3)]
    out = []
    bounds = [None, *edges, None]
    for i in range(len(edges) + 1):
        lo, hi = bounds[i], bounds[i + 1]
        if name == "objects_in_image":
            text = f"{lo:g}+" if hi is None else (f"{lo:g}–{hi - 1:g}" if lo else f"1–{hi - 1:g}")
            text = text.replace("1–1", "1")
        elif lo is None:
            text = f"< {hi:g}{unit}"
        elif hi is None:
            text = f"≥ {lo:g}{unit}"
        else:
            text = f"{lo:g}–{hi:g}{unit}"
        out.append((text, lo, hi))
    return out


def correlation(sums: tuple[tuple[int, float, float], tuple[int, float, float]]) -> float | None:
    """Pearson correlation of a property x with a 0/1 outcome y (point-biserial), from
    (n, sum x, sum x^2) of the y = 0 and the y = 1 group; None when either is empty or x is
    constant."""
    (n0, s0, q0), (n1, s1, q1) = sums
    n = n0 + n1
    if not n0 or not n1:
        return None
    mean = (s0 + s1) / n
    var = (q0 + q1) / n - mean * mean
    if var <= 1e-12 * max(1.0, mean * mean):
        return None
    p1 = n1 / n
    diff = s1 / n1 - s0 / n0
    return max(-1.0, min(1.0, diff * math.sqrt(p1 * (1 - p1)) / math.sqrt(var)))


def mutual_information(table: list[tuple[int, int]]) -> float | None:
    """Mutual information in bits between the bucket and a 0/1 outcome, from per-bucket
    (count with y = 0, count with y = 1); None without both outcomes."""
    n = sum(a + b for a, b in table)
    y0, y1 = sum(a for a, _ in table), sum(b for _, b in table)
    if not y0 or not y1:
        return None
    mi = 0.0
    for a, b in table:
        for count, y in ((a, y0), (b, y1)):
            if count:
                mi += count / n * math.log2(count * n / ((a + b) * y))
    return max(0.0, mi)


def performance_by_property(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    iou_threshold: float = 0.5,
    against: str = MAIN_BRANCH,
) -> list[dict[str, Any]]:
    """Per property, per bucket: predictions, TP, FP, precision; ground truth, found, missed,
    recall (each ``None`` where its denominator is 0); and the property's ``importance`` for
    being found (ground truth) and for being true (predictions): correlation with the raw
    value and mutual information with the bucket."""
    record = _project(store, project)
    t = threshold_index(iou_threshold)
    tp, fp, fn = OUTCOME_CODES["TP"], OUTCOME_CODES["FP"], OUTCOME_CODES["FN"]
    pred, gt = KIND_CODES["prediction"], KIND_CODES["ground_truth"]
    out = []
    with store.read() as conn:
        pset, _ = complete_set(conn, record, branch_name, against)
        for name, title, edges, unit in PROPERTIES:
            labels = _labels(name, edges, unit)
            counts = {(k, b, c): n for k, b, c, n in bucket_counts(conn, pset.id, t, name, edges)}
            buckets: list[dict[str, Any]] = []
            for b, (label, lo, hi) in enumerate(labels):
                n_tp, n_fp = counts.get((pred, b, tp), 0), counts.get((pred, b, fp), 0)
                found, missed = counts.get((gt, b, tp), 0), counts.get((gt, b, fn), 0)
                buckets.append(
                    {
                        "label": label,
                        "low": lo,
                        "high": hi,
                        "predictions": n_tp + n_fp,
                        "tp": n_tp,
                        "fp": n_fp,
                        "precision": n_tp / (n_tp + n_fp) if n_tp + n_fp else None,
                        "ground_truth": found + missed,
                        "found": found,
                        "missed": missed,
                        "recall": found / (found + missed) if found + missed else None,
                    }
                )
            sums = {(k, c): (n, x, xx) for k, c, n, x, xx in moment_sums(conn, pset.id, t, name)}
            none = (0, 0.0, 0.0)
            importance = {
                "recall": {
                    "correlation": correlation(
                        (sums.get((gt, fn), none), sums.get((gt, tp), none))
                    ),
                    "mutual_information": mutual_information(
                        [(b["missed"], b["found"]) for b in buckets]
                    ),
                },
                "precision": {
                    "correlation": correlation(
                        (sums.get((pred, fp), none), sums.get((pred, tp), none))
                    ),
                    "mutual_information": mutual_information([(b["fp"], b["tp"]) for b in buckets]),
                },
            }
            out.append(
                {
                    "name": name,
                    "title": title,
                    "iou_threshold": THRESHOLDS[t],
                    "buckets": buckets,
                    "importance": importance,
                }
            )
    return out
