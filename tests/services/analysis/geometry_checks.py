"""Checks shared by the geometry-copy tests: both read paths of a branch, and copies in step."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from sqlalchemy import select

from predscope.formats.row_geometry import encode_document, needs_json
from predscope.services.analysis.inputs import (
    BranchColumns,
    branch_records,
    category_table,
    frame_table,
    read_branch,
)
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from predscope.store.schema import data_units, label_row_geometry, label_rows


class _RollBack(Exception):
    """Undoes the test's NULLing of the copies."""


def read_both(
    store: Store, project: ProjectRecord, branch: str, iou_type: str = "auto"
) -> tuple[BranchColumns, BranchColumns]:
    """(via the stored copies, via the JSON alone) for one branch, on the same image index."""
    cats = category_table(project, iou_type)  # type: ignore[arg-type]
    gt = branch == "main"
    with store.read() as conn:
        records = branch_records(conn, project, branch)
        frames = frame_table(records)
        fast = read_branch(conn, project, records, frames, cats, ground_truth=gt)
    slow: BranchColumns | None = None
    try:
        with store.begin() as conn:
            conn.execute(label_row_geometry.delete())
            slow = read_branch(conn, project, records, frames, cats, ground_truth=gt)
            raise _RollBack
    except _RollBack:
        pass
    assert slow is not None
    return fast, slow


def _same_array(a: Any, b: Any, name: str) -> None:
    if a is None or b is None:
        assert a is None and b is None, name
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, name
    assert a.tobytes() == b.tobytes(), name  # bit for bit (NaN payloads and -0.0 included)


def assert_same_columns(a: BranchColumns, b: BranchColumns) -> None:
    for name in ("image", "category", "bbox", "area", "iscrowd", "score", "rotated"):
        _same_array(getattr(a, name), getattr(b, name), name)
    assert a.object_hashes == b.object_hashes
    assert a.attributes == b.attributes
    assert a.masks == b.masks
    for name in ("keypoints", "polylines"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        for p, q in zip(x or (), y or (), strict=True):
            _same_array(p, q, name)


def assert_copies_current(store: Store) -> tuple[int, int]:
    """Every stored copy is the copy of its stored document; returns (rows with a usable copy,
    rows with a document)."""
    g = label_row_geometry.c
    query = (
        select(label_rows.c.document, g.geometry, data_units.c.data_type)
        .join(data_units, data_units.c.id == label_rows.c.data_unit_id)
        .outerjoin(label_row_geometry, g.label_row_id == label_rows.c.id)
    )
    usable = documents = 0
    with store.read() as conn:
        for document, geometry, data_type in conn.execute(query):
            if document is None:
                assert geometry is None
                continue
            documents += 1
            assert geometry is not None, "a writer stored a document without its copy"
            assert bytes(geometry) == encode_document(orjson.loads(document), data_type)
            usable += not needs_json(bytes(geometry))
    return usable, documents


def assert_paths_agree(store: Store, project: ProjectRecord, branch: str, **kw: Any) -> None:
    fast, slow = read_both(store, project, branch, **kw)
    assert_same_columns(fast, slow)
