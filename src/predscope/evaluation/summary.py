"""The COCO summary numbers, generalised to any parameters the way ``summarize`` reads the arrays.

Each stat is the mean of the valid (> -1) entries of a slice of precision or recall, -1 if none.
AP50 / AP75 pick thresholds by exact equality, as pycocotools does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predscope.evaluation.inputs import FloatArray
from predscope.evaluation.params import CocoParams

DETECTION_STAT_KEYS = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)
KEYPOINT_STAT_KEYS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
_SIZE_KEYS = {"small": "s", "medium": "m", "large": "l"}


@dataclass(frozen=True)
class StatSpec:
    """One summary line: which array, threshold, area label and maxDets it averages."""

    key: str
    ap: bool
    iou_thr: float | None
    area: str
    max_dets: int


def stat_specs(params: CocoParams) -> list[StatSpec]:
    """The summary lines for these parameters (the usual 12, or 10 for keypoints)."""
    top = params.max_dets[-1]
    specs = [StatSpec("AP", True, None, "all", top)]
    specs += [StatSpec("AP50", True, 0.5, "all", top), StatSpec("AP75", True, 0.75, "all", top)]
    sizes = [lbl for lbl in params.area_labels if lbl in _SIZE_KEYS]
    specs += [StatSpec("AP" + _SIZE_KEYS[lbl], True, None, lbl, top) for lbl in sizes]
    if params.iou_type == "keypoints":
        specs += [StatSpec("AR", False, None, "all", top)]
        specs += [
            StatSpec("AR50", False, 0.5, "all", top),
            StatSpec("AR75", False, 0.75, "all", top),
        ]
    else:
        specs += [StatSpec(f"AR{m}", False, None, "all", m) for m in params.max_dets]
    specs += [StatSpec("AR" + _SIZE_KEYS[lbl], False, None, lbl, top) for lbl in sizes]
    return specs


def mean_valid(values: FloatArray) -> float:
    """Mean of the entries above -1, or -1 when there are none (pycocotools' rule)."""
    valid = values[values > -1]
    return -1.0 if valid.size == 0 else float(np.mean(valid))


def compute_stat(
    spec: StatSpec, params: CocoParams, precision: FloatArray, recall: FloatArray
) -> float:
    """Average one slice exactly as ``COCOeval._summarize`` does."""
    aind = [i for i, lbl in enumerate(params.area_labels) if lbl == spec.area]
    mind = [i for i, m in enumerate(params.max_dets) if m == spec.max_dets]
    if not aind or not mind:
        return -1.0
    if spec.ap:
        s = precision
        if spec.iou_thr is not None:
            s = s[np.where(spec.iou_thr == params.iou_thrs)[0]]
        return mean_valid(s[:, :, :, aind, mind])
    r = recall
    if spec.iou_thr is not None:
        r = r[np.where(spec.iou_thr == params.iou_thrs)[0]]
    return mean_valid(r[:, :, aind, mind])


def summarize(params: CocoParams, precision: FloatArray, recall: FloatArray) -> dict[str, float]:
    """The summary stats keyed AP, AP50, ... (see ``stat_specs``)."""
    return {s.key: compute_stat(s, params, precision, recall) for s in stat_specs(params)}


def summary_lines(params: CocoParams, stats: dict[str, float]) -> list[str]:
    """The familiar pycocotools text block, one line per stat."""
    lines = []
    for spec in stat_specs(params):
        title = "Average Precision" if spec.ap else "Average Recall"
        short = "(AP)" if spec.ap else "(AR)"
        if spec.iou_thr is None:
            iou = f"{params.iou_thrs[0]:0.2f}:{params.iou_thrs[-1]:0.2f}"
        else:
            iou = f"{spec.iou_thr:0.2f}"
        lines.append(
            f" {title:<18} {short} @[ IoU={iou:<9} | area={spec.area:>6s} | "
            f"maxDets={spec.max_dets:>3d} ] = {stats[spec.key]:0.3f}"
        )
    return lines
