"""PASCAL VOC average precision, for users who must report VOC-style numbers.

VOC differs from COCO in three ways that change results: each detection looks only at the GT with
the highest IoU (no fall-back to the next-best free GT), AP is interpolated over every recall point
or 11 fixed points (not 101), and the original devkit measures boxes with a +1-pixel convention.
Boxes are ``[x, y, w, h]`` (top-left corner, width, height), like COCO and Encord, in any consistent
unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from predscope.exceptions import EvaluationError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_A = TypeVar("_A", bound=npt.NDArray[Any])


@dataclass(frozen=True)
class VocClassResult:
    """One class's matching outcome and curves; arrays run in descending score order."""

    class_id: int
    ap: float
    """Every-point interpolated AP; NaN when the class has no non-difficult GT."""
    ap_11: float
    """11-point interpolated AP (recall 0, 0.1, ..., 1); NaN when the class has no non-difficult
    GT.
    """
    n_gt: int
    """Non-difficult GT boxes: the recall denominator."""
    detection_index: IntArray
    """Index into the input detection arrays, in the order detections were matched."""
    scores: FloatArray
    tp: BoolArray
    fp: BoolArray
    """A detection matched to a difficult GT is neither TP nor FP (both flags false)."""
    matched_gt: IntArray
    """Index into the input GT arrays of the GT a TP took, else -1."""
    iou: FloatArray
    """Highest IoU of the detection with any GT of its image and class (0 when there is none)."""
    precision: FloatArray
    recall: FloatArray
    """Cumulative precision and recall after each counted (TP or FP) detection."""


@dataclass(frozen=True)
class VocResult:
    """Per-class VOC AP at one IoU threshold; mAP averages the classes that have GT."""

    iou_threshold: float
    plus_one: bool
    per_class: tuple[VocClassResult, ...]
    map: float
    map_11: float

    def ap_by_class(self, eleven_point: bool = False) -> dict[int, float]:
        """AP keyed by class id, every-point unless ``eleven_point``."""
        return {c.class_id: (c.ap_11 if eleven_point else c.ap) for c in self.per_class}


def _as_float(name: str, value: npt.ArrayLike, shape_tail: tuple[int, ...]) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape((0, *shape_tail))
    if arr.shape[1:] != shape_tail or arr.ndim != 1 + len(shape_tail):
        raise EvaluationError(
            f"voc: argument '{name}' has shape {arr.shape}, expected "
            f"(N{''.join(', ' + str(s) for s in shape_tail)})"
            " - pass one row per box"
        )
    if not np.all(np.isfinite(arr)):
        raise EvaluationError(
            f"voc: argument '{name}' contains NaN or infinite values - remove or fix those rows"
        )
    return arr


def _as_int(name: str, value: npt.ArrayLike, n: int) -> IntArray:
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.reshape(0).astype(np.int64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise EvaluationError(
            f"voc: argument '{name}' has shape {arr.shape}, expected ({n},) to align with the boxes"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise EvaluationError(
            f"voc: argument '{name}' must hold integers (image or class indices), got {arr.dtype}"
        )
    return arr.astype(np.int64)


def box_iou_xywh(a: FloatArray, b: FloatArray, plus_one: bool = False) -> FloatArray:
    """IoU matrix (len(a), len(b)) of ``[x, y, w, h]`` boxes; ``plus_one`` counts pixels
    inclusively.
    """
    one = 1.0 if plus_one else 0.0
    ax1, ay1 = a[:, 0:1], a[:, 1:2]
    ax2, ay2 = ax1 + a[:, 2:3], ay1 + a[:, 3:4]
    bx1, by1 = b[None, :, 0], b[None, :, 1]
    bx2, by2 = bx1 + b[None, :, 2], by1 + b[None, :, 3]
    iw = np.minimum(ax2, bx2) - np.maximum(ax1, bx1) + one
    ih = np.minimum(ay2, by2) - np.maximum(ay1, by1) + one
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    area_a = (a[:, 2:3] + one) * (a[:, 3:4] + one)
    area_b = (b[None, :, 2] + one) * (b[None, :, 3] + one)
    union = area_a + area_b - inter
    out: FloatArray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return out


def every_point_ap(precision: FloatArray, recall: FloatArray) -> float:
    """Area under the precision envelope, summed where recall changes (VOC 2010+)."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def eleven_point_ap(precision: FloatArray, recall: FloatArray) -> float:
    """Mean of the best precision at recall >= 0, 0.1, ..., 1 (VOC 2007)."""
    total = 0.0
    for t in np.linspace(0.0, 1.0, 11):
        reached = recall >= t
        total += float(np.max(precision[reached])) if np.any(reached) else 0.0
    return total / 11.0


def _best_gt(
    det_img: IntArray,
    det_cls: IntArray,
    det_boxes: FloatArray,
    gt_img: IntArray,
    gt_cls: IntArray,
    gt_boxes: FloatArray,
    plus_one: bool,
) -> tuple[FloatArray, IntArray]:
    """For each detection, the highest IoU with a GT of its image and class and that GT (first on
    ties).
    """
    best_iou = np.zeros(det_img.shape[0], dtype=np.float64)
    best_gt = np.full(det_img.shape[0], -1, dtype=np.int64)
    if det_img.size == 0 or gt_img.size == 0:
        return best_iou, best_gt
    gt_order = np.lexsort((gt_cls, gt_img))
    gt_keys = np.stack((gt_img[gt_order], gt_cls[gt_order]), axis=1)
    det_order = np.lexsort((det_cls, det_img))
    det_keys = np.stack((det_img[det_order], det_cls[det_order]), axis=1)
    gt_u, gt_start, gt_count = np.unique(gt_keys, axis=0, return_index=True, return_counts=True)
    det_u, det_start, det_count = np.unique(det_keys, axis=0, return_index=True, return_counts=True)
    lookup = {
        (int(k[0]), int(k[1])): (int(s), int(c))
        for k, s, c in zip(gt_u, gt_start, gt_count, strict=True)
    }
    for key, ds, dc in zip(det_u, det_start, det_count, strict=True):
        hit = lookup.get((int(key[0]), int(key[1])))
        if hit is None:
            continue
        gidx = gt_order[hit[0] : hit[0] + hit[1]]
        didx = det_order[ds : ds + dc]
        ious = box_iou_xywh(det_boxes[didx], gt_boxes[gidx], plus_one)
        arg = np.argmax(ious, axis=1)
        best_iou[didx] = ious[np.arange(len(didx)), arg]
        best_gt[didx] = gidx[arg]
    return best_iou, best_gt


def evaluate_voc(
    det_image: npt.ArrayLike,
    det_class: npt.ArrayLike,
    det_boxes: npt.ArrayLike,
    det_scores: npt.ArrayLike,
    gt_image: npt.ArrayLike,
    gt_class: npt.ArrayLike,
    gt_boxes: npt.ArrayLike,
    gt_difficult: npt.ArrayLike | None = None,
    *,
    iou_threshold: float = 0.5,
    plus_one: bool = False,
    class_ids: npt.ArrayLike | None = None,
) -> VocResult:
    """VOC AP per class at one IoU threshold (a detection is TP when IoU >= threshold).

    Boxes are ``[x, y, w, h]``. Detections are ranked by descending score with a stable sort, so
    ties keep input order. ``plus_one`` uses the devkit's inclusive-pixel areas ``(w + 1) * (h +
    1)``. ``class_ids`` fixes the classes reported (default: every class seen in GT or detections).
    """
    dboxes = _as_float("det_boxes", det_boxes, (4,))
    n_det = dboxes.shape[0]
    dimg = _as_int("det_image", det_image, n_det)
    dcls = _as_int("det_class", det_class, n_det)
    dscore = _as_float("det_scores", det_scores, ())
    if dscore.shape[0] != n_det:
        raise EvaluationError(
            f"voc: argument 'det_scores' has {dscore.shape[0]} values for {n_det} detection boxes"
        )
    gboxes = _as_float("gt_boxes", gt_boxes, (4,))
    n_gt = gboxes.shape[0]
    gimg = _as_int("gt_image", gt_image, n_gt)
    gcls = _as_int("gt_class", gt_class, n_gt)
    if gt_difficult is None:
        gdiff = np.zeros(n_gt, dtype=np.bool_)
    else:
        gdiff = np.asarray(gt_difficult, dtype=np.bool_).reshape(-1)
        if gdiff.shape[0] != n_gt:
            raise EvaluationError(
                f"voc: argument 'gt_difficult' has {gdiff.shape[0]} flags for {n_gt} GT boxes"
            )
    if np.any(dboxes[:, 2:] < 0) or np.any(gboxes[:, 2:] < 0):
        raise EvaluationError(
            "voc: a box has negative width or height - boxes must be [x, y, w, h] with w, h >= 0"
        )
    if not 0.0 <= iou_threshold <= 1.0:
        raise EvaluationError(
            f"voc: argument 'iou_threshold' is {iou_threshold}, expected a value in [0, 1]"
        )

    best_iou, best_gt = _best_gt(dimg, dcls, dboxes, gimg, gcls, gboxes, plus_one)
    classes = (
        np.unique(np.concatenate((gcls, dcls)))
        if class_ids is None
        else np.asarray(class_ids, dtype=np.int64).reshape(-1)
    )
    per_class = tuple(
        _class_result(int(c), dcls, dscore, best_iou, best_gt, gcls, gdiff, iou_threshold)
        for c in classes
    )
    with_gt = [r for r in per_class if r.n_gt > 0]
    m = float(np.mean([r.ap for r in with_gt])) if with_gt else float("nan")
    m11 = float(np.mean([r.ap_11 for r in with_gt])) if with_gt else float("nan")
    return VocResult(
        iou_threshold=iou_threshold, plus_one=plus_one, per_class=per_class, map=m, map_11=m11
    )


def _frozen(arr: _A) -> _A:
    arr.setflags(write=False)
    return arr


def _class_result(
    cls: int,
    dcls: IntArray,
    dscore: FloatArray,
    best_iou: FloatArray,
    best_gt: IntArray,
    gcls: IntArray,
    gdiff: BoolArray,
    threshold: float,
) -> VocClassResult:
    sel = np.nonzero(dcls == cls)[0]
    order = sel[np.argsort(-dscore[sel], kind="stable")]
    iou = best_iou[order]
    gt = best_gt[order]
    hit = (gt >= 0) & (iou >= threshold)
    difficult = hit & gdiff[np.maximum(gt, 0)]
    candidate = hit & ~difficult
    tp = np.zeros(order.shape[0], dtype=np.bool_)
    if np.any(candidate):
        pos = np.nonzero(candidate)[0]
        _, first = np.unique(gt[pos], return_index=True)
        tp[pos[first]] = True
    fp = ~tp & ~difficult
    matched = np.where(tp, gt, -1)
    n_gt = int(np.count_nonzero((gcls == cls) & ~gdiff))
    counted = tp | fp
    ctp = np.cumsum(tp[counted]).astype(np.float64)
    cfp = np.cumsum(fp[counted]).astype(np.float64)
    precision = ctp / np.maximum(ctp + cfp, 1.0)
    recall = ctp / n_gt if n_gt > 0 else np.zeros_like(ctp)
    ap = every_point_ap(precision, recall) if n_gt > 0 else float("nan")
    ap11 = eleven_point_ap(precision, recall) if n_gt > 0 else float("nan")
    return VocClassResult(
        class_id=cls,
        ap=ap,
        ap_11=ap11,
        n_gt=n_gt,
        detection_index=_frozen(order.astype(np.int64)),
        scores=_frozen(dscore[order]),
        tp=_frozen(tp),
        fp=_frozen(fp),
        matched_gt=_frozen(matched.astype(np.int64)),
        iou=_frozen(iou),
        precision=_frozen(precision),
        recall=_frozen(recall),
    )
