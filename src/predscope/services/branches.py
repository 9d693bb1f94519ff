"""Branches of a project: the one existence check every reader uses.

A branch exists when it holds at least one label row; ``main`` always exists, since it is the
ground-truth default and stays empty until labels are written. Listing, export and evaluation all
ask this one function, so a misspelt branch is the same error everywhere instead of an empty file.
"""

from __future__ import annotations

from sqlalchemy import Connection

from predscope.exceptions import ResourceNotFoundError
from predscope.store import label_rows as row_repo
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
from predscope.store.records import ProjectRecord


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
