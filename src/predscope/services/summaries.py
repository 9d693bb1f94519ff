"""Per-branch summaries of a project: rows, label counts and the last import (server, UI).

Counts come from the row metadata (object and classification counts are stored per row), so a
summary never decodes a label document.
"""

from __future__ import annotations

from typing import Any

from predscope.store.data_units import count_data_units, list_data_units
from predscope.store.engine import Store
from predscope.store.imports import last_imports
from predscope.store.label_rows import branch_counts, list_branches, list_row_metadata
from predscope.store.records import DataUnitRecord, ImportRecord, ProjectRecord, RowRecord


def import_dict(record: ImportRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "branch_name": record.branch_name,
        "kind": record.kind,
        "source_name": record.source_name,
        "sha256": record.sha256,
        "created_at": record.created_at,
        "report": record.report,
    }


def branch_summaries(store: Store, project: ProjectRecord) -> list[dict[str, Any]]:
    """Every branch holding a row (``main`` first) with its counts and last import."""
    with store.read() as conn:
        sums = branch_counts(conn, project.id)
        last = last_imports(conn, project.id)
    counts = {b: {"rows": n, "objects": o, "classifications": k} for b, (n, o, k) in sums.items()}
    return [
        {
            "name": name,
            **entry,
            "last_import": import_dict(last[name]) if name in last else None,
        }
        for name, entry in counts.items()
    ]


def project_counts(store: Store, project: ProjectRecord) -> dict[str, Any]:
    with store.read() as conn:
        units = count_data_units(conn, project.id)
        branches = list_branches(conn, project.id)
    return {"data_units": units, "branches": branches}


def units_page(
    store: Store, project: ProjectRecord, offset: int, limit: int
) -> tuple[list[DataUnitRecord], int]:
    """One page of data units in the order added, and how many there are (two SQL queries)."""
    with store.read() as conn:
        total = count_data_units(conn, project.id)
        return list_data_units(conn, project.id, offset=offset, limit=limit), total


def rows_page(
    store: Store, project: ProjectRecord, branch: str, offset: int, limit: int
) -> tuple[list[RowRecord], int]:
    """One page of a branch's rows (one per data unit, placeholders included) and the total,
    read in one snapshot with SQL paging: a page costs the same on any project size."""
    with store.read() as conn:
        total = count_data_units(conn, project.id)
        rows = list_row_metadata(conn, project.id, branch_name=branch, offset=offset, limit=limit)
        return rows, total
