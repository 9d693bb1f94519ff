"""Per-branch summaries of a project: rows, label counts and the last import (server, UI).

Counts come from the row metadata (object and classification counts are stored per row), so a
summary never decodes a label document.
"""

from __future__ import annotations

from typing import Any

from predscope.store.data_units import list_data_units
from predscope.store.engine import Store
from predscope.store.imports import find_imports
from predscope.store.label_rows import list_branches, list_row_metadata
from predscope.store.records import ImportRecord, ProjectRecord


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
        branches = list_branches(conn, project.id)
        rows = list_row_metadata(conn, project.id, branch_name=None, include_all_branches=True)
        imports = find_imports(conn, project.id)
    counts: dict[str, dict[str, int]] = {
        b: {"rows": 0, "objects": 0, "classifications": 0} for b in branches
    }
    for row in rows:
        if row.label_hash is None:
            continue
        entry = counts.setdefault(row.branch_name, {"rows": 0, "objects": 0, "classifications": 0})
        entry["rows"] += 1
        entry["objects"] += row.object_count
        entry["classifications"] += row.classification_count
    last: dict[str, ImportRecord] = {}
    for record in imports:  # oldest first, so the last one seen wins
        last[record.branch_name] = record
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
        units = list_data_units(conn, project.id)
        branches = list_branches(conn, project.id)
    return {"data_units": len(units), "branches": branches}
