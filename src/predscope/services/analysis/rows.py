"""A run's frames as the columns of ``analysis_objects`` and ``analysis_frames``.

Outcome codes per threshold (``o0..o9``, area range "all"): detections 0 FP, 1 TP, 2 ignored
(matched a crowd region), 3 not evaluated (beyond maxDets); ground truth 1 TP, 2 ignored (crowd),
4 FN. ``p<t>`` is the partner's ``seq`` (its position among the other kind's objects of the same
frame), ``i<t>`` the IoU with it. Properties are ``evaluation.properties.object_properties`` of
the evaluated box in pixels, with the engine's area (mask pixels for masks, the COCO area for
imported ground truth); ``error_type`` is the TIDE ``ErrorType`` code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation.properties import object_properties
from predscope.evaluation.results import Outcome
from predscope.services.analysis.inputs import BranchColumns, FrameTable
from predscope.services.analysis.records import FN_CODE, FrameMatch
from predscope.store.analysis_objects import ERROR_FACTOR, Nullable

OUTCOME_NAMES = {
    int(Outcome.FP): "FP",
    int(Outcome.TP): "TP",
    int(Outcome.IGNORED): "ignored",
    int(Outcome.NOT_EVALUATED): "not_evaluated",
    FN_CODE: "FN",
}
OUTCOME_CODES = {v: k for k, v in OUTCOME_NAMES.items()}
KIND_CODES = {"prediction": 0, "ground_truth": 1}
PROPERTY_NAMES = (
    "area_px",
    "area_share",
    "aspect_ratio",
    "border_distance_px",
    "border_distance_share",
    "objects_in_image",
)


def signature(codes: NDArray[Any], error: NDArray[Any]) -> NDArray[np.int64]:
    """The ``sig`` column (m0007): ``error * 5**10 + sum(codes[:, t] * 5**t)``, codes 0..4."""
    powers = 5 ** np.arange(codes.shape[1], dtype=np.int64)
    out: NDArray[np.int64] = error.astype(np.int64) * ERROR_FACTOR + codes.astype(np.int64) @ powers
    return out


@dataclass(frozen=True)
class ResultColumns:
    objects: dict[str, Any]
    frames: dict[str, Any]
    attributes: dict[str, Any]


def _seq(image: NDArray[np.int64]) -> NDArray[np.int64]:
    """Position of each row among the rows of its image (rows are image-major)."""
    starts = np.searchsorted(image, image, side="left")
    return np.arange(image.size, dtype=np.int64) - starts


def _partner(match: NDArray[np.int32], seq: NDArray[np.int64]) -> Nullable:
    hit = match >= 0
    values = seq[np.maximum(match, 0)] if seq.size else np.zeros(match.shape, dtype=np.int64)
    return Nullable(values.astype(np.int64), hit)


def _properties(cols: BranchColumns, frames: FrameTable) -> dict[str, Any]:
    size = np.stack([np.array(frames.width), np.array(frames.height)], axis=1).astype(np.float64)
    props = object_properties(cols.bbox, cols.image, size.reshape(-1, 2), cols.area)
    x, y, w, h = (cols.bbox[:, i] for i in range(4))
    out: dict[str, Any] = {"x": x, "y": y, "w": w, "h": h}
    for name in PROPERTY_NAMES:
        out[name] = getattr(props, name)
    return out


def object_columns(
    set_id: int,
    fm: FrameMatch,
    gt: BranchColumns,
    dt: BranchColumns,
    frames: FrameTable,
    unit_ids: Mapping[str, int],
) -> ResultColumns:
    """The rows to store for the frames of one evaluation pass."""
    num_t = fm.d_match.shape[1]
    unit = np.array([unit_ids[k[0]] for k in frames.keys], dtype=np.int64)
    frame_no = np.array([k[1] for k in frames.keys], dtype=np.int64)
    d_seq, g_seq = _seq(dt.image), _seq(gt.image)
    rec = fm.records
    g_out = np.where(fm.g_match >= 0, int(Outcome.TP), FN_CODE).astype(np.int16)
    g_out[rec.g_ignored[:, 0]] = int(Outcome.IGNORED)
    sides = []
    for kind, cols, seq, codes, match, iou, other_seq in (
        (0, dt, d_seq, rec.d_codes[:, 0, :], fm.d_match, fm.d_iou, g_seq),
        (1, gt, g_seq, g_out, fm.g_match, fm.g_iou, d_seq),
    ):
        n = cols.image.size
        out: dict[str, Any] = {
            "set_id": np.full(n, set_id, dtype=np.int64),
            "kind": np.full(n, kind, dtype=np.int64),
            "data_unit_id": unit[cols.image],
            "frame": frame_no[cols.image],
            "seq": seq,
            "object_hash": list(cols.object_hashes),
            "class_id": cols.category,
            "confidence": cols.score if kind == 0 else np.ones(n),
            **_properties(cols, frames),
            "error_type": (rec.d_error if kind == 0 else rec.g_error).astype(np.int64),
            "best_iou_any": fm.tide.best_iou_any if kind == 0 else np.full(n, np.nan),
            "sig": signature(codes, rec.d_error if kind == 0 else rec.g_error),
        }
        for t in range(num_t):
            out[f"o{t}"] = codes[:, t].astype(np.int64)
            out[f"p{t}"] = _partner(match[:, t], other_seq)
            out[f"i{t}"] = iou[:, t]
        sides.append(out)
    objects = {k: _join(sides[0][k], sides[1][k]) for k in sides[0]}
    # Insert in (kind, confidence) order: the confidence index grows at its end and the others
    # (signature, class, area) see fewer random pages than in image order.
    order = np.lexsort((objects["confidence"], objects["kind"]))
    objects = {k: _take(v, order) for k, v in objects.items()}
    frames_cols = _frame_counts(set_id, fm, dt, gt, frames, unit, frame_no, g_out)
    attrs: dict[str, list[Any]] = {
        k: [] for k in ("set_id", "kind", "data_unit_id", "frame", "seq", "name", "value")
    }
    for kind, cols, seq in ((0, dt, d_seq), (1, gt, g_seq)):
        for i, pairs in enumerate(cols.attributes):
            for name, value in pairs:
                image = int(cols.image[i])
                for key, v in zip(
                    attrs,
                    (
                        set_id,
                        kind,
                        int(unit[image]),
                        int(frame_no[image]),
                        int(seq[i]),
                        name,
                        value,
                    ),
                    strict=True,
                ):
                    attrs[key].append(v)
    return ResultColumns(objects, frames_cols, attrs)


def _take(values: Any, order: NDArray[np.intp]) -> Any:
    if isinstance(values, Nullable):
        return values[order]
    if isinstance(values, np.ndarray):
        return values[order]
    return [values[i] for i in order.tolist()]


def _join(a: Any, b: Any) -> Any:
    if isinstance(a, Nullable):
        return Nullable(np.concatenate([a.values, b.values]), np.concatenate([a.mask, b.mask]))
    if isinstance(a, np.ndarray):
        return np.concatenate([a, b])
    return list(a) + list(b)


def _frame_counts(
    set_id: int,
    fm: FrameMatch,
    dt: BranchColumns,
    gt: BranchColumns,
    frames: FrameTable,
    unit: NDArray[np.int64],
    frame_no: NDArray[np.int64],
    g_out: NDArray[np.int16],
) -> dict[str, Any]:
    n = len(frames.keys)
    out: dict[str, Any] = {
        "set_id": np.full(n, set_id, dtype=np.int64),
        "data_unit_id": unit,
        "frame": frame_no,
        "width": np.array(frames.width, dtype=np.int64),
        "height": np.array(frames.height, dtype=np.int64),
        "num_gt": np.bincount(gt.image, minlength=n),
        "num_predictions": np.bincount(dt.image, minlength=n),
    }
    codes = fm.records.d_codes[:, 0, :]
    for t in range(codes.shape[1]):
        out[f"tp{t}"] = np.bincount(dt.image[codes[:, t] == Outcome.TP], minlength=n)
        out[f"fp{t}"] = np.bincount(dt.image[codes[:, t] == Outcome.FP], minlength=n)
        out[f"fn{t}"] = np.bincount(gt.image[g_out[:, t] == FN_CODE], minlength=n)
    return out
