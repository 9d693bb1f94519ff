"""A run's frames as the stored object columns (``store.object_columns``) and ``analysis_frames``.

Outcome codes per threshold (``o0..o9``, area range "all"): detections 0 FP, 1 TP, 2 ignored
(matched a crowd region), 3 not evaluated (beyond maxDets); ground truth 1 TP, 2 ignored (crowd),
4 FN. ``p<t>`` is the partner's ``seq`` (its position among the other kind's objects of the same
frame), ``i<t>`` the IoU with it. Properties are ``evaluation.properties.object_properties`` of
the evaluated box in pixels, with the engine's area (mask pixels for masks, the COCO area for
imported ground truth); ``error_type`` is the TIDE ``ErrorType`` code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

from predscope.evaluation.properties import object_properties
from predscope.evaluation.results import Outcome
from predscope.services.analysis.inputs import BranchColumns, FrameTable
from predscope.services.analysis.records import FN_CODE, FrameMatch
from predscope.store import analysis_objects as object_repo
from predscope.store import column_writes as column_repo
from predscope.store.analysis_objects import ERROR_FACTOR, Stacked
from predscope.store.object_columns import NO_PARTNER
from predscope.store.schema import analysis_attributes, analysis_frames

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
    """Columns of a run's objects (``store.object_columns``), frames and attributes."""

    objects: dict[str, Any]
    frames: dict[str, Any]
    attributes: dict[str, Any]


def _seq(image: NDArray[np.int64]) -> NDArray[np.int64]:
    """Position of each row among the rows of its image (rows are image-major)."""
    starts = np.searchsorted(image, image, side="left")
    return np.arange(image.size, dtype=np.int64) - starts


def _partner(match: NDArray[np.int32], seq: NDArray[np.int32]) -> NDArray[np.int32]:
    """[rows, T]: the partner's ``seq`` per row and threshold, ``NO_PARTNER`` where there is
    none (the stored column, dense: the store keeps it sparse)."""
    if not seq.size:
        return np.full(match.shape, NO_PARTNER, dtype=np.int32)
    out: NDArray[np.int32] = np.where(match >= 0, seq[np.maximum(match, 0)], np.int32(NO_PARTNER))
    return out


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
    g_out = np.where(fm.g_match >= 0, int(Outcome.TP), FN_CODE).astype(np.int8)
    g_out[rec.g_ignored[:, 0]] = int(Outcome.IGNORED)
    nd, ng = dt.image.size, gt.image.size
    d_seq32, g_seq32 = d_seq.astype(np.int32), g_seq.astype(np.int32)
    sides = (
        (0, dt, d_seq, rec.d_codes[:, 0, :], fm.d_match, fm.d_iou, g_seq32, rec.d_error),
        (1, gt, g_seq, g_out, fm.g_match, fm.g_iou, d_seq32, rec.g_error),
    )
    # Every column is a ``Stacked`` pair (prediction rows, then ground truth) of views of the
    # match or narrow new arrays, joined one column at a time as the write stores it.
    d_props, g_props = _properties(dt, frames), _properties(gt, frames)
    objects: dict[str, Any] = {
        "kind": Stacked(np.zeros(nd, dtype=np.int8), np.ones(ng, dtype=np.int8)),
        "data_unit_id": Stacked(unit[dt.image], unit[gt.image]),
        "frame": Stacked(frame_no[dt.image].astype(np.int32), frame_no[gt.image].astype(np.int32)),
        "seq": Stacked(d_seq32, g_seq32),
        "object_hash": Stacked(dt.object_hashes, gt.object_hashes),
        "class_id": Stacked(dt.category.astype(np.int16), gt.category.astype(np.int16)),
        "confidence": Stacked(dt.score, np.ones(ng)),
        **{name: Stacked(d_props[name], g_props[name]) for name in d_props},
        "error_type": Stacked(rec.d_error, rec.g_error),
        "best_iou_any": Stacked(fm.tide.best_iou_any, np.full(ng, np.nan)),
        "sig": Stacked(*(signature(s[3], s[7]) for s in sides)),
    }
    partners = [_partner(s[4], s[6]) for s in sides]
    for t in range(num_t):
        objects[f"o{t}"] = Stacked(*(s[3][:, t] for s in sides))
        objects[f"p{t}"] = Stacked(*(p[:, t] for p in partners))
        objects[f"i{t}"] = Stacked(*(s[5][:, t] for s in sides))
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


def write_objects(
    conn: Connection,
    set_id: int,
    fm: FrameMatch,
    gt: BranchColumns,
    dt: BranchColumns,
    frames: FrameTable,
    unit_ids: Mapping[str, int],
    scope: Iterable[int] | None,
) -> None:
    """Replace the set's stored objects, frame counts and attributes with those of ``frames``
    (of the data units in ``scope``; all when None), inside the caller's transaction. The
    columns live only in here: the caller goes on to publish without holding them.
    """
    columns = object_columns(set_id, fm, gt, dt, frames, unit_ids)
    units = None if scope is None else set(scope)
    object_repo.flush_on_commit(conn)  # so the VACUUM after a full run can mark its pages
    rebuild = object_repo.delete_results(conn, set_id, units, defer_indexes=True)
    object_repo.insert_columns(conn, analysis_frames, columns.frames)
    object_repo.insert_columns(conn, analysis_attributes, columns.attributes)
    object_repo.create_indexes(conn, rebuild)
    column_repo.replace_objects(conn, set_id, columns.objects, units)


def _frame_counts(
    set_id: int,
    fm: FrameMatch,
    dt: BranchColumns,
    gt: BranchColumns,
    frames: FrameTable,
    unit: NDArray[np.int64],
    frame_no: NDArray[np.int64],
    g_out: NDArray[np.int8],
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
    d_counts = _code_counts(dt.image, fm.records.d_codes[:, 0, :], n, int(Outcome.TP))
    g_counts = _code_counts(gt.image, g_out, n, FN_CODE)
    for t in range(d_counts.shape[0]):
        out[f"tp{t}"] = d_counts[t, :, int(Outcome.TP)]
        out[f"fp{t}"] = d_counts[t, :, int(Outcome.FP)]
        out[f"fn{t}"] = g_counts[t, :, FN_CODE]
    return out


def _code_counts(image: NDArray[Any], codes: NDArray[Any], n: int, top: int) -> NDArray[np.int64]:
    """[T, n, codes]: per threshold and frame, how many rows hold each outcome code (codes
    [rows, T] from 0; ``top`` the highest code asked for): one bincount per threshold."""
    width = max(int(codes.max(initial=0)), top) + 1
    by_t = np.ascontiguousarray(codes.T)
    base = np.asarray(image, dtype=np.int64) * width
    counts = [np.bincount(base + codes_t, minlength=n * width) for codes_t in by_t]
    return np.stack(counts).reshape(len(by_t), n, width)
