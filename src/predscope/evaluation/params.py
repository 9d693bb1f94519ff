"""COCO evaluation parameters, with the exact pycocotools defaults.

Thresholds are built with ``np.linspace`` in float64: ``arange`` or float32 shift AP by up to 5e-4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from predscope.exceptions import EvaluationError

# The one list of shapes the engine evaluates; every other layer imports this literal.
IouType = Literal["bbox", "segm", "keypoints", "rotated", "polyline"]
IOU_TYPES: tuple[IouType, ...] = ("bbox", "segm", "keypoints", "rotated", "polyline")
# The subset a COCO file can carry (formats.coco reads these).
CocoIouType = Literal["bbox", "segm", "keypoints"]

# The 17 COCO person keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).
COCO_KEYPOINT_SIGMAS: tuple[float, ...] = tuple(
    v / 10.0
    for v in (
        0.26,
        0.25,
        0.25,
        0.35,
        0.35,
        0.79,
        0.79,
        0.72,
        0.72,
        0.62,
        0.62,
        1.07,
        1.07,
        0.87,
        0.87,
        0.89,
        0.89,
    )
)

_DET_AREAS: tuple[tuple[float, float], ...] = (
    (0.0, 1e5**2),
    (0.0, 32.0**2),
    (32.0**2, 96.0**2),
    (96.0**2, 1e5**2),
)
_DET_LABELS = ("all", "small", "medium", "large")
_KP_AREAS: tuple[tuple[float, float], ...] = ((0.0, 1e5**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2))
_KP_LABELS = ("all", "medium", "large")


def _frozen(values: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class CocoParams:
    """What to evaluate; mirrors ``pycocotools.cocoeval.Params`` field by field."""

    iou_type: IouType = "bbox"
    iou_thrs: NDArray[np.float64] = field(
        default_factory=lambda: _frozen(
            np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
        )
    )
    rec_thrs: NDArray[np.float64] = field(
        default_factory=lambda: _frozen(
            np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
        )
    )
    max_dets: tuple[int, ...] = (1, 10, 100)
    area_rng: tuple[tuple[float, float], ...] = _DET_AREAS
    area_labels: tuple[str, ...] = _DET_LABELS
    use_cats: bool = True
    kpt_oks_sigmas: NDArray[np.float64] = field(
        default_factory=lambda: _frozen(COCO_KEYPOINT_SIGMAS)
    )
    # polyline similarity max(0, 1 - d / (2 tau)): tau in pixels, else a share of the diagonal
    polyline_tolerance_px: float | None = None
    polyline_tolerance_fraction: float = 0.02
    polyline_samples: int = 100

    def __post_init__(self) -> None:
        if self.iou_type not in IOU_TYPES:
            raise EvaluationError(
                f"CocoParams.iou_type: {self.iou_type!r} is not supported - "
                f"use one of {', '.join(IOU_TYPES)}"
            )
        tol = self.polyline_tolerance_px
        if tol is not None and not (np.isfinite(tol) and tol > 0):
            raise EvaluationError(
                f"CocoParams.polyline_tolerance_px: {tol} - give a positive number of pixels"
            )
        frac = self.polyline_tolerance_fraction
        if not (np.isfinite(frac) and frac > 0):
            raise EvaluationError(
                f"CocoParams.polyline_tolerance_fraction: {frac} - give a positive share"
            )
        if self.polyline_samples < 2:
            raise EvaluationError(
                f"CocoParams.polyline_samples: {self.polyline_samples} - need at least 2"
            )
        object.__setattr__(self, "iou_thrs", _frozen(self.iou_thrs))
        object.__setattr__(self, "rec_thrs", _frozen(self.rec_thrs))
        object.__setattr__(self, "kpt_oks_sigmas", _frozen(self.kpt_oks_sigmas))
        object.__setattr__(self, "max_dets", tuple(int(m) for m in self.max_dets))
        object.__setattr__(
            self, "area_rng", tuple((float(lo), float(hi)) for lo, hi in self.area_rng)
        )
        object.__setattr__(self, "area_labels", tuple(self.area_labels))
        for name, arr in (("iou_thrs", self.iou_thrs), ("rec_thrs", self.rec_thrs)):
            if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
                raise EvaluationError(
                    f"CocoParams.{name}: need a non-empty 1-D list of finite numbers"
                )
            if np.any(np.diff(arr) < 0):
                raise EvaluationError(f"CocoParams.{name}: values must be ascending")
        if not self.max_dets or any(m < 1 for m in self.max_dets):
            raise EvaluationError("CocoParams.max_dets: need at least one positive integer")
        if not self.area_rng:
            raise EvaluationError("CocoParams.area_rng: need at least one [lo, hi] range")
        if len(self.area_labels) != len(self.area_rng):
            raise EvaluationError(
                f"CocoParams.area_labels: {len(self.area_labels)} labels for "
                f"{len(self.area_rng)} area ranges - give one label per range"
            )
        if self.iou_type == "keypoints" and self.kpt_oks_sigmas.size == 0:
            raise EvaluationError("CocoParams.kpt_oks_sigmas: keypoint evaluation needs sigmas")

    @classmethod
    def for_keypoints(cls, sigmas: Sequence[float] | None = None) -> CocoParams:
        """pycocotools' keypoint defaults: maxDets 20, no small area range."""
        return cls(
            iou_type="keypoints",
            max_dets=(20,),
            area_rng=_KP_AREAS,
            area_labels=_KP_LABELS,
            kpt_oks_sigmas=_frozen(COCO_KEYPOINT_SIGMAS if sigmas is None else sigmas),
        )

    @classmethod
    def default(cls, iou_type: IouType = "bbox") -> CocoParams:
        """The default parameters pycocotools uses for ``iou_type``."""
        if iou_type == "keypoints":
            return cls.for_keypoints()
        return cls(iou_type=iou_type)


def single_threshold_params(params: CocoParams | None, iou_thr: float) -> CocoParams:
    """COCO parameters with one IoU threshold, area "all" and the last maxDets."""
    base = params or CocoParams()
    return CocoParams(
        iou_type=base.iou_type,
        iou_thrs=np.array([iou_thr], dtype=np.float64),
        rec_thrs=base.rec_thrs,
        max_dets=(base.max_dets[-1],),
        area_rng=((0.0, 1e10),),
        area_labels=("all",),
        use_cats=base.use_cats,
        kpt_oks_sigmas=base.kpt_oks_sigmas,
        polyline_tolerance_px=base.polyline_tolerance_px,
        polyline_tolerance_fraction=base.polyline_tolerance_fraction,
        polyline_samples=base.polyline_samples,
    )


def same_geometry(a: CocoParams, b: CocoParams) -> bool:
    """Whether ``a`` and ``b`` give every (detection, GT) pair the same IoU (or similarity)."""
    return (
        a.iou_type == b.iou_type
        and np.array_equal(a.kpt_oks_sigmas, b.kpt_oks_sigmas)
        and (a.polyline_tolerance_px, a.polyline_tolerance_fraction, a.polyline_samples)
        == (b.polyline_tolerance_px, b.polyline_tolerance_fraction, b.polyline_samples)
    )
