"""The query layer: stored objects and frames of an analysed branch, filtered, sorted, paged.

One implementation for the CLI (``predscope objects`` / ``units``), the SDK and the server. It
reads the latest complete run only (the set's object columns, ``store.object_columns``, and
``analysis_frames``), answering any of the ten COCO IoU thresholds from the stored per-threshold
outcome without re-matching.

Example:
    >>> page = query_objects(store, project, "model", outcome="FP", iou_threshold=0.75,
    ...                      object_names=["person"], min_confidence=0.7,
    ...                      order_by="-area_px")  # doctest: +SKIP
    >>> page.total, page.items[0]["confidence"]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from predscope.evaluation.errors import ErrorType
from predscope.evaluation.params import CocoParams
from predscope.exceptions import InvalidArgumentsError
from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.metrics import complete_set
from predscope.services.analysis.rows import (
    KIND_CODES,
    OUTCOME_CODES,
    OUTCOME_NAMES,
    PROPERTY_NAMES,
)
from predscope.store import analysis_frame_query as frame_sql
from predscope.store import analysis_query as sql
from predscope.store import data_units as unit_repo
from predscope.store.branches import MAIN_BRANCH
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

THRESHOLDS = tuple(round(float(t), 2) for t in CocoParams().iou_thrs)
MAX_LIMIT = 1000
ERROR_NAMES = {int(e): e.name.lower() for e in ErrorType}
ERROR_CODES = {v: k for k, v in ERROR_NAMES.items()}
OBJECT_ORDER = ("confidence", "iou", *PROPERTY_NAMES, "frame")
PREDICTION_OUTCOMES = ("TP", "FP", "ignored", "not_evaluated")
GT_OUTCOMES = ("TP", "FN", "ignored")


@dataclass(frozen=True)
class Page:
    """One page of a query: ``items`` from ``offset`` on, and ``total`` rows matching."""

    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    threshold: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "iou_threshold": self.threshold,
            "items": self.items,
        }


def threshold_index(iou_threshold: float) -> int:
    for t, value in enumerate(THRESHOLDS):
        if abs(value - float(iou_threshold)) < 1e-9:
            return t
    raise InvalidArgumentsError(
        f"query: iou_threshold {iou_threshold!r} is not one of the stored thresholds "
        f"{', '.join(str(v) for v in THRESHOLDS)} - pick one of them"
    )


def _paging(offset: int, limit: int) -> None:
    if offset < 0:
        raise InvalidArgumentsError(f"query: offset {offset} is negative - pass 0 or more")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgumentsError(f"query: limit {limit} is outside 1..{MAX_LIMIT}")


def _bounds(
    name: str,
    lo: float | None,
    hi: float | None,
    lower: float = -math.inf,
    upper: float = math.inf,
) -> None:
    """A range filter's two ends: numbers within [lower, upper], min not above max (a range
    that can match nothing is a mistake to name, not an empty page to return)."""
    for end, value in (("min", lo), ("max", hi)):
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise InvalidArgumentsError(f"query: {end}_{name} {value!r} is not a finite number")
        if not lower <= value <= upper:
            raise InvalidArgumentsError(
                f"query: {end}_{name} {value!r} is outside {lower:g}..{upper:g}"
            )
    if lo is not None and hi is not None and lo > hi:
        raise InvalidArgumentsError(
            f"query: min_{name} {lo!r} is above max_{name} {hi!r} - nothing can match"
        )


def _order(order_by: str, allowed: Sequence[str]) -> tuple[str, bool]:
    descending = order_by.startswith("-")
    name = order_by.lstrip("-+")
    if name not in allowed:
        raise InvalidArgumentsError(
            f"query: order_by {order_by!r} is not one of {', '.join(allowed)} (prefix '-' for "
            "descending)"
        )
    return name, descending


def _names(values: str | Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [values] if isinstance(values, str) else list(values)


def _class_ids(
    categories: Sequence[Sequence[str]], names: Sequence[str] | None
) -> list[int] | None:
    if names is None:
        return None
    index = {c[1]: k for k, c in enumerate(categories)}
    unknown = [n for n in names if n not in index]
    if unknown:
        known = ", ".join(c[1] for c in categories)
        raise InvalidArgumentsError(
            f"query: object_names {unknown} are not evaluated classes of this run ({known})"
        )
    return [index[n] for n in names]


def _codes(
    names: Sequence[str] | None, table: Mapping[str, int], allowed: Sequence[str], what: str
) -> list[int] | None:
    if names is None:
        return None
    bad = [n for n in names if n not in allowed]
    if bad:
        raise InvalidArgumentsError(f"query: {what} {bad} not one of {', '.join(allowed)}")
    return [table[n] for n in names]


def _unit_id(store_conn: Any, project: ProjectRecord, data_hash: str | None) -> int | None:
    if data_hash is None:
        return None
    units = unit_repo.list_data_units(store_conn, project.id, data_hashes=[data_hash])
    if not units:
        from predscope.exceptions import ResourceNotFoundError

        raise ResourceNotFoundError(
            f"project {project.title!r}: no data unit with data_hash {data_hash!r}"
        )
    return int(units[0].id)


def _ranges(
    properties: Mapping[str, Sequence[float | None]] | None,
) -> dict[str, tuple[float | None, float | None]]:
    out: dict[str, tuple[float | None, float | None]] = {}
    for name, bounds in (properties or {}).items():
        if name not in PROPERTY_NAMES:
            raise InvalidArgumentsError(
                f"query: property {name!r} is not one of {', '.join(PROPERTY_NAMES)}"
            )
        lo, hi = tuple(bounds) if len(bounds) == 2 else (None, None)
        if len(bounds) != 2:
            raise InvalidArgumentsError(f"query: property {name!r} needs (min, max); None = open")
        _bounds(name, lo, hi)
        out[name] = (lo, hi)
    return out


def query_objects(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    kind: str = "prediction",
    outcome: str | Sequence[str] | None = None,
    iou_threshold: float = 0.5,
    object_names: str | Sequence[str] | None = None,
    error_type: str | Sequence[str] | None = None,
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    min_iou: float | None = None,
    max_iou: float | None = None,
    properties: Mapping[str, Sequence[float | None]] | None = None,
    attributes: Mapping[str, str | Sequence[str]] | None = None,
    data_hash: str | None = None,
    order_by: str = "-confidence",
    offset: int = 0,
    limit: int = 50,
    against: str = MAIN_BRANCH,
) -> Page:
    """Stored objects of the branch's latest complete analysis; see the module doc."""
    record = _project(store, project)
    if kind not in KIND_CODES:
        raise InvalidArgumentsError(f"query: kind {kind!r} is not 'prediction' or 'ground_truth'")
    t = threshold_index(iou_threshold)
    _paging(offset, limit)
    order, descending = _order(order_by, OBJECT_ORDER)
    allowed = PREDICTION_OUTCOMES if kind == "prediction" else GT_OUTCOMES
    outcomes = _codes(_names(outcome), OUTCOME_CODES, allowed, "outcome")
    errors = _codes(_names(error_type), ERROR_CODES, tuple(ERROR_CODES), "error_type")
    attrs = {k: _names(v) or [] for k, v in (attributes or {}).items()}
    _bounds("confidence", min_confidence, max_confidence)  # scores may be any finite number
    _bounds("iou", min_iou, max_iou, 0.0, 1.0)
    with store.read() as conn:
        pset, run = complete_set(conn, record, branch_name, against)
        categories = run.params.get("categories", [])
        q = sql.ObjectFilter(
            set_id=pset.id,
            kind=KIND_CODES[kind],
            threshold=t,
            outcomes=outcomes,
            class_ids=_class_ids(categories, _names(object_names)),
            error_types=errors,
            min_confidence=min_confidence,
            max_confidence=max_confidence,
            min_iou=min_iou,
            max_iou=max_iou,
            ranges=_ranges(properties),
            attributes=attrs,
            data_unit_id=_unit_id(conn, record, data_hash),
        )
        column = f"i{t}" if order == "iou" else order
        rows, total = sql.object_page(conn, q, column, descending, offset, limit)
        other = 1 - KIND_CODES[kind]
        keys = [(r["data_unit_id"], r["frame"], r[f"p{t}"]) for r in rows if r[f"p{t}"] is not None]
        partner = sql.partners(conn, pset.id, other, keys)
    items = [_object_item(r, t, kind, categories, partner) for r in rows]
    return Page(items, total, offset, limit, THRESHOLDS[t], {"run_id": run.id})


def _num(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _object_item(
    r: Mapping[str, Any],
    t: int,
    kind: str,
    categories: Sequence[Sequence[str]],
    partner: Mapping[tuple[int, int, int], str],
) -> dict[str, Any]:
    seq = r[f"p{t}"]
    cat = categories[r["class_id"]] if 0 <= r["class_id"] < len(categories) else ("", "")
    return {
        "object_hash": r["object_hash"],
        "kind": kind,
        "data_hash": r["data_hash"],
        "data_title": r["data_title"],
        "frame": r["frame"],
        "class": cat[1],
        "feature_hash": cat[0],
        "geometry": {"bbox": [r["x"], r["y"], r["w"], r["h"]]},
        "confidence": r["confidence"] if kind == "prediction" else None,
        "outcome": OUTCOME_NAMES[r[f"o{t}"]],
        "matched_object_hash": None
        if seq is None
        else partner.get((r["data_unit_id"], r["frame"], seq)),
        "iou": _num(r[f"i{t}"]),
        "error_type": ERROR_NAMES.get(r["error_type"]),
        "best_iou_any": _num(r["best_iou_any"]),
        "properties": {name: _num(r[name]) for name in PROPERTY_NAMES},
    }


UNIT_ORDER = frame_sql.FRAME_ORDER


def query_data_units(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    iou_threshold: float = 0.5,
    object_names: str | Sequence[str] | None = None,
    min_tp: int | None = None,
    max_tp: int | None = None,
    min_fp: int | None = None,
    max_fp: int | None = None,
    min_fn: int | None = None,
    max_fn: int | None = None,
    data_hash: str | None = None,
    order_by: str = "-fp",
    offset: int = 0,
    limit: int = 50,
    against: str = MAIN_BRANCH,
) -> Page:
    """Per (data unit, frame): TP / FP / FN at the threshold (of ``object_names`` only, if
    given) and object counts, filtered by count ranges and sorted (``-fp`` = most FPs first)."""
    record = _project(store, project)
    t = threshold_index(iou_threshold)
    _paging(offset, limit)
    order, descending = _order(order_by, UNIT_ORDER)
    ranges = {
        name: (lo, hi)
        for name, lo, hi in (("tp", min_tp, max_tp), ("fp", min_fp, max_fp), ("fn", min_fn, max_fn))
        if lo is not None or hi is not None
    }
    for name, (lo, hi) in ranges.items():
        _bounds(name, lo, hi, 0)
    with store.read() as conn:
        pset, run = complete_set(conn, record, branch_name, against)
        categories = run.params.get("categories", [])
        rows, total = frame_sql.frame_page(
            conn,
            pset.id,
            t,
            ranges,
            _unit_id(conn, record, data_hash),
            _class_ids(categories, _names(object_names)),
            order,
            descending,
            offset,
            limit,
        )
    items = [
        {
            "data_hash": r["data_hash"],
            "data_title": r["data_title"],
            "frame": r["frame"],
            "width": r["width"],
            "height": r["height"],
            "tp": int(r["tp"]),
            "fp": int(r["fp"]),
            "fn": int(r["fn"]),
            "num_gt": int(r["num_gt"]),
            "num_predictions": int(r["num_predictions"]),
        }
        for r in rows
    ]
    return Page(items, total, offset, limit, THRESHOLDS[t], {"run_id": run.id})
