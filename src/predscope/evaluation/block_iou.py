"""IoU (or the shape's similarity) of every (detection, GT) pair inside each group, per IoU type.

Groups are (category, image) blocks, or image blocks when categories are ignored; block b's pairs
are written row-major at ``out[offsets[b]:]``. One dispatch, so the greedy matching, accumulation
and summary are the same code for every shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predscope.evaluation._kernels import bbox_iou_blocks
from predscope.evaluation._polyline_kernels import polyline_similarity_blocks, resample_all
from predscope.evaluation.inputs import (
    CocoDetections,
    CocoGroundTruth,
    FloatArray,
    IntArray,
)
from predscope.evaluation.iou import mask_iou_blocks
from predscope.evaluation.oks import oks_blocks
from predscope.evaluation.params import CocoParams
from predscope.evaluation.rotated import rotated_box_corners, rotated_iou_blocks
from predscope.exceptions import EvaluationError


@dataclass(frozen=True)
class Blocks:
    """Which detections and GT (sorted positions) form each group, and where its pairs go."""

    d_index: IntArray  # sorted position -> detection row
    g_index: IntArray  # sorted position -> GT row
    dstart: IntArray
    dcount: IntArray
    gstart: IntArray
    gcount: IntArray
    offsets: IntArray

    @property
    def num_pairs(self) -> int:
        return int((self.dcount * self.gcount).sum())


def check_shapes(gt: CocoGroundTruth, dt: CocoDetections, params: CocoParams) -> None:
    """Refuse an IoU type whose geometry is missing on either side."""
    need = {
        "segm": ("masks", "masks"),
        "keypoints": ("keypoints", "keypoints"),
        "rotated": ("rotated boxes", "rotated"),
        "polyline": ("polylines", "polylines"),
    }.get(params.iou_type)
    if need is None:
        return
    label, attr = need
    if getattr(gt, attr) is None or getattr(dt, attr) is None:
        raise EvaluationError(
            f"{params.iou_type} evaluation needs {label} on both ground truth and detections"
        )
    if (
        params.iou_type == "polyline"
        and params.polyline_tolerance_px is None
        and gt.image_size is None
    ):
        raise EvaluationError(
            "polyline evaluation: give CocoParams.polyline_tolerance_px, or CocoGroundTruth."
            "image_size for the default tolerance (a share of each image's diagonal)"
        )


def polyline_tau(gt: CocoGroundTruth, params: CocoParams, image: IntArray) -> FloatArray:
    """The tolerance tau in pixels for detections on ``image``."""
    if params.polyline_tolerance_px is not None:
        return np.full(image.shape[0], float(params.polyline_tolerance_px))
    if gt.image_size is None:  # pragma: no cover - refused by check_shapes
        raise EvaluationError("polyline evaluation needs CocoGroundTruth.image_size")
    size = gt.image_size[image]
    tau: FloatArray = params.polyline_tolerance_fraction * np.hypot(size[:, 0], size[:, 1])
    return tau


def block_iou(
    gt: CocoGroundTruth, dt: CocoDetections, params: CocoParams, blocks: Blocks
) -> FloatArray:
    """The flat pair array for ``blocks`` (0 where shapes cannot overlap)."""
    out = np.zeros(blocks.num_pairs, dtype=np.float64)
    if out.size == 0:
        return out
    b = blocks
    d_sel, g_sel = b.d_index, b.g_index
    g_crowd = np.ascontiguousarray(gt.iscrowd[g_sel])
    grid = (b.dstart, b.dcount, b.gstart, b.gcount, b.offsets)
    kind = params.iou_type
    if kind == "bbox":
        bbox_iou_blocks(
            np.ascontiguousarray(dt.bbox[d_sel]),
            np.ascontiguousarray(gt.bbox[g_sel]),
            g_crowd,
            *grid,
            out,
        )
    elif kind == "segm" and dt.masks is not None and gt.masks is not None:
        mask_iou_blocks(dt.masks, gt.masks, d_sel, g_sel, g_crowd, *grid, out)
    elif kind == "keypoints" and dt.keypoints is not None and gt.keypoints is not None:
        oks_blocks(
            dt.keypoints,
            gt.keypoints,
            gt.bbox,
            gt.area,
            params.kpt_oks_sigmas,
            d_sel,
            g_sel,
            *grid,
            out,
        )
    elif kind == "rotated" and dt.rotated is not None and gt.rotated is not None:
        d_rot = dt.rotated[d_sel]
        g_rot = gt.rotated[g_sel]
        rotated_iou_blocks(
            np.ascontiguousarray(rotated_box_corners(d_rot)),
            np.ascontiguousarray(d_rot[:, 2] * d_rot[:, 3]),
            np.ascontiguousarray(rotated_box_corners(g_rot)),
            np.ascontiguousarray(g_rot[:, 2] * g_rot[:, 3]),
            g_crowd,
            *grid,
            out,
        )
    elif kind == "polyline" and dt.polylines is not None and gt.polylines is not None:
        n = params.polyline_samples
        dl, gl = dt.polylines, gt.polylines
        polyline_similarity_blocks(
            dl.points,
            dl.offsets,
            resample_all(dl.points, dl.offsets, n),
            np.ascontiguousarray(d_sel, dtype=np.int64),
            polyline_tau(gt, params, dt.image[d_sel]),
            gl.points,
            gl.offsets,
            resample_all(gl.points, gl.offsets, n),
            np.ascontiguousarray(g_sel, dtype=np.int64),
            *grid,
            out,
        )
    else:  # pragma: no cover - check_shapes refuses missing geometry first
        raise EvaluationError(f"{kind} evaluation: geometry missing")
    return out
