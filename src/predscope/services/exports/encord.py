"""A branch as Encord label-row JSON (the inverse of ``services.imports.encord``)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from predscope.formats.encord import dumps_label_rows, write_label_rows
from predscope.services.exports.files import atomic_output
from predscope.services.exports.listing import load_stored_rows
from predscope.store.branches import MAIN_BRANCH, validate_branch_name

if TYPE_CHECKING:
    from predscope.store.engine import Store
    from predscope.store.records import ProjectRecord


def export_encord(
    store: Store, project: ProjectRecord, *, branch_name: str = MAIN_BRANCH
) -> list[dict[str, Any]]:
    """Every existing row of ``branch_name`` as Encord label-row JSON."""
    rows = load_stored_rows(store, project, branch_name=validate_branch_name(branch_name))
    return [row.to_encord_dict() for row in rows]


def write_encord_export(
    store: Store,
    project: ProjectRecord,
    out: str | Path | IO[str],
    *,
    branch_name: str = MAIN_BRANCH,
) -> int:
    """Write the branch to ``out`` (a path or a text stream); returns the number of rows."""
    if isinstance(out, str | Path):  # whole or not at all, the path checked first
        with atomic_output(out) as binary:
            rows = export_encord(store, project, branch_name=branch_name)
            binary.write(dumps_label_rows(rows).encode("utf-8"))
        return len(rows)
    rows = export_encord(store, project, branch_name=branch_name)
    write_label_rows(rows, out)
    return len(rows)
