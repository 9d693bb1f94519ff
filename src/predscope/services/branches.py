"""Branches of a project: the one existence check every reader uses; removing and renaming.

A branch exists when it holds at least one label row; ``main`` always exists, since it is the
ground-truth default and stays empty until labels are written. Listing, export and evaluation all
ask this one function, so a misspelt branch is the same error everywhere instead of an empty file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection

from predscope.exceptions import InvalidArgumentsError, ResourceExistsError, ResourceNotFoundError
from predscope.services import history
from predscope.store import imports as import_repo
from predscope.store import label_rows as row_repo
from predscope.store import projects as project_repo
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
from predscope.store.engine import Store
from predscope.store.records import ImportRecord, ProjectRecord


def require_branch(
    conn: Connection,
    project: ProjectRecord,
    branch_name: str,
    *,
    allow_empty_main: bool = True,
) -> None:
    """Raise ``ResourceNotFoundError`` (listing the branches) unless ``branch_name`` exists.

    ``allow_empty_main=False`` is for callers that read ``main`` as ground truth and need rows
    there (evaluation): an empty ``main`` is then refused like a missing branch.

    >>> require_branch(conn, project, "model-a")  # doctest: +SKIP
    """
    validate_branch_name(branch_name)
    if branch_name == MAIN_BRANCH and allow_empty_main:
        return
    branches = row_repo.list_branches(conn, project.id)
    if branch_name in branches:
        return
    known = ", ".join(branches) or "none yet"
    if branch_name == MAIN_BRANCH:
        todo = "import ground truth first (predscope import coco FILE --ground-truth)"
    else:
        todo = (
            "names are case-sensitive: pick one of those, or write rows to the branch first "
            "(e.g. predscope import coco FILE --branch NAME)"
        )
    raise ResourceNotFoundError(
        f"project {project.title} has no rows on branch {branch_name!r}; its branches are: "
        f"{known} - {todo}"
    )


# -- removing and renaming -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BranchChange:
    """What a removal or rename did: rows and objects touched, import records moved or removed."""

    action: str  # "remove branch" | "rename branch"
    branch: str
    rows: int
    objects: int
    imports: int
    new_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def refuse_main_without_force(action: str, touches_main: bool, force: bool) -> None:
    """Ground truth is removed or moved only when the caller says so (``force``)."""
    if touches_main and not force:
        raise InvalidArgumentsError(
            f"{action}: this changes branch 'main', the project's ground truth - pass force=True "
            "(--force on the command line) if that is really what you want"
        )


def _existing_branch(
    conn: Connection, project: ProjectRecord, name: str
) -> tuple[int, int, list[ImportRecord]]:
    """Lock the project, then (rows, objects, import records) of a branch that must exist."""
    project_repo.lock_project(conn, project.id)
    rows, objects = row_repo.count_branch_rows(conn, project.id, name)
    held = import_repo.find_imports(conn, project.id, branch_name=name)
    if rows == 0 and not held:
        require_branch(conn, project, name, allow_empty_main=False)
    return rows, objects, held


def remove_branch(
    store: Store,
    project: ProjectRecord,
    branch_name: str,
    *,
    force: bool = False,
    origin: str = history.PYTHON,
) -> BranchChange:
    """Remove every row of a branch and its import records, in one transaction, and record it.

    >>> remove_branch(store, project, "model-a")  # doctest: +SKIP
    BranchChange(action='remove branch', branch='model-a', rows=120, objects=845, imports=1)
    """
    validate_branch_name(branch_name)
    refuse_main_without_force(f"remove branch {branch_name!r}", branch_name == MAIN_BRANCH, force)
    with store.begin() as conn:
        rows, objects, held = _existing_branch(conn, project, branch_name)
        row_repo.delete_branch_rows(conn, project.id, branch_name, allow_main=True)
        import_repo.delete_imports(conn, project.id, branch_name)
        change = BranchChange("remove branch", branch_name, rows, objects, len(held))
        history.record(conn, project, change.action, branch_name, change.to_dict(), origin=origin)
    return change


def rename_branch(
    store: Store,
    project: ProjectRecord,
    old: str,
    new: str,
    *,
    force: bool = False,
    origin: str = history.PYTHON,
) -> BranchChange:
    """Move a branch's rows and import records to a new name; an existing name is refused."""
    validate_branch_name(old)
    validate_branch_name(new)
    if old == new:
        raise InvalidArgumentsError(
            f"rename branch {old!r}: the new name is the same - give a different name"
        )
    touches_main = MAIN_BRANCH in (old, new)
    refuse_main_without_force(f"rename branch {old!r} to {new!r}", touches_main, force)
    with store.begin() as conn:
        rows, objects, held = _existing_branch(conn, project, old)
        taken_rows, _ = row_repo.count_branch_rows(conn, project.id, new)
        if taken_rows or import_repo.find_imports(conn, project.id, branch_name=new):
            raise ResourceExistsError(
                f"rename branch {old!r} to {new!r} in project {project.title}: branch {new!r} "
                f"already exists ({taken_rows} rows) - remove it first (predscope branches "
                "remove) or pick another name"
            )
        row_repo.rename_branch_rows(conn, project.id, old, new)
        moved = import_repo.rename_imports(conn, project.id, old, new)
        change = BranchChange("rename branch", old, rows, objects, moved, new_name=new)
        history.record(conn, project, change.action, old, change.to_dict(), origin=origin)
    return change
