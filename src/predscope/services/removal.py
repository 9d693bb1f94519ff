"""Removing data units and whole projects: one transaction each, recorded in the history.

Ground truth (objects or classifications on ``main``) is removed only when the caller passes
``force``, the same rule as for removing or renaming the ``main`` branch itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from predscope.services import history
from predscope.services.branches import refuse_main_without_force
from predscope.store import data_units as unit_repo
from predscope.store import label_rows as row_repo
from predscope.store import projects as project_repo
from predscope.store.branches import MAIN_BRANCH
from predscope.store.data_units import UnitKey
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord


@dataclass(frozen=True, slots=True)
class Removal:
    """What a removal deleted (``rows``/``objects`` over every branch; ``main_objects`` on main)."""

    action: str
    subject: str
    data_units: int
    rows: int
    objects: int
    main_objects: int
    branches: int = 0
    titles: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__}
        out["titles"] = list(self.titles)
        return out


def _refuse_ground_truth(action: str, main_objects: int, force: bool) -> None:
    what = f"{action} ({main_objects} ground-truth objects/classifications)"
    refuse_main_without_force(what, main_objects > 0, force)


def _resolve_units(
    known: Sequence[UnitKey], project: ProjectRecord, wanted: Sequence[str]
) -> list[UnitKey]:
    """Each identifier is a data hash or, failing that, one unit's exact title."""
    by_hash = {k.data_hash: k for k in known}
    by_title: dict[str, list[UnitKey]] = {}
    for key in known:
        by_title.setdefault(key.data_title, []).append(key)
    chosen: dict[int, UnitKey] = {}
    for ident in wanted:
        hit = by_hash.get(ident)
        titled = by_title.get(ident, [])
        if hit is None and len(titled) > 1:
            hashes = ", ".join(k.data_hash for k in titled)
            raise InvalidArgumentsError(
                f"remove data from project {project.title}: {len(titled)} data units are titled "
                f"{ident!r} ({hashes}) - name the one to remove by its data hash"
            )
        hit = hit or (titled[0] if titled else None)
        if hit is None:
            raise ResourceNotFoundError(
                f"remove data from project {project.title}: no data unit has the hash or title "
                f"{ident!r} - nothing was removed; `predscope labels {project.title}` or "
                "project.list_data_units() shows titles and hashes"
            )
        chosen[hit.id] = hit
    return list(chosen.values())


def remove_data_units(
    store: Store,
    project: ProjectRecord,
    titles_or_hashes: Sequence[str],
    *,
    force: bool = False,
    origin: str = history.PYTHON,
) -> Removal:
    """Remove data units and their label rows on every branch, in one transaction.

    Units that carry ground truth (objects on ``main``) are removed only with ``force``.

    >>> remove_data_units(store, project, ["cam1/0001.png"])  # doctest: +SKIP
    """
    if isinstance(titles_or_hashes, str) or not titles_or_hashes:
        raise InvalidArgumentsError(
            "remove data: pass a non-empty list of data titles or data hashes"
        )
    with store.begin() as conn:
        project_repo.lock_project(conn, project.id)
        units = _resolve_units(unit_repo.unit_keys(conn, project.id), project, titles_or_hashes)
        ids = [u.id for u in units]
        main_objects = row_repo.count_unit_objects(conn, ids, MAIN_BRANCH)
        _refuse_ground_truth(f"remove {len(units)} data unit(s)", main_objects, force)
        rows, objects = row_repo.delete_unit_rows(conn, ids)
        unit_repo.delete_data_units(conn, ids)
        removal = Removal(
            "remove data",
            f"{len(units)} data units",
            len(units),
            rows,
            objects,
            main_objects,
            titles=tuple(u.data_title for u in units),
        )
        history.record(
            conn, project, removal.action, removal.subject, removal.to_dict(), origin=origin
        )
    return removal


def remove_project(
    store: Store, project: ProjectRecord | str, *, force: bool = False, origin: str = history.PYTHON
) -> Removal:
    """Remove a project with its data units, rows on every branch and import records.

    The history keeps the removal (``list_history`` still finds it by hash or title). A project
    with ground truth on ``main`` is removed only with ``force``.
    """
    with store.begin() as conn:
        record = project if isinstance(project, ProjectRecord) else None
        record = record or project_repo.get_project(conn, str(project))
        project_repo.lock_project(conn, record.id)
        units = unit_repo.unit_keys(conn, record.id)
        ids = [u.id for u in units]
        main_objects = row_repo.count_unit_objects(conn, ids, MAIN_BRANCH)
        _refuse_ground_truth(f"remove project {record.title!r}", main_objects, force)
        branches = row_repo.list_branches(conn, record.id)
        rows, objects = row_repo.delete_unit_rows(conn, ids)
        project_repo.delete_project(conn, record.id)
        removal = Removal(
            "remove project",
            record.title,
            len(units),
            rows,
            objects,
            main_objects,
            branches=len(branches),
        )
        history.record(conn, record, removal.action, record.title, removal.to_dict(), origin=origin)
    return removal
