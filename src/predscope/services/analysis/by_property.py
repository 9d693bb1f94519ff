"""Performance by property: precision and recall of a prediction set per bucket of an object
property (area, share of the image, aspect ratio, distance to the border, objects per image),
at any stored IoU threshold, from the stored outcomes. Definitions: ``docs/metrics.md`` (10b).

>>> rows = performance_by_property(store, project, "model", iou_threshold=0.5)  # doctest: +SKIP
>>> rows[0]["name"], rows[0]["buckets"][0]["recall"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.metrics import complete_set
from predscope.services.analysis.rows import KIND_CODES, OUTCOME_CODES
from predscope.services.query import THRESHOLDS, threshold_index
from predscope.store.analysis_buckets import bucket_counts
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


def performance_by_property(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    iou_threshold: float = 0.5,
    against: str = MAIN_BRANCH,
) -> list[dict[str, Any]]:
    """Per property, per bucket: predictions, TP, FP, precision; ground truth, found, missed,
    recall (each ``None`` where its denominator is 0)."""
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
            buckets = []
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
            out.append(
                {"name": name, "title": title, "iou_threshold": THRESHOLDS[t], "buckets": buckets}
            )
    return out
