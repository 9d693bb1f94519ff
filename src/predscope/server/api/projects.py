"""Projects, data units, ontology, branches and label rows (read-only; writes are imports)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.server.api.deps import (
    Limit,
    Offset,
    StoreDep,
    page,
    project_dict,
    project_of,
    unit_dict,
    unit_of,
)
from predscope.services.branches import require_branch
from predscope.services.projects import list_projects
from predscope.services.rows import StoreRowBackend, metadata_from_record
from predscope.services.summaries import branch_summaries, project_counts, rows_page, units_page

router = APIRouter(tags=["projects"])


@router.get("/projects", summary="Every project, with data-unit count and branches")
def projects_list(store: StoreDep) -> dict[str, Any]:
    items = [{**project_dict(p), **project_counts(store, p)} for p in list_projects(store)]
    return {"items": items, "total": len(items)}


@router.get("/projects/{project}", summary="One project (by hash or title)")
def project_get(store: StoreDep, project: str) -> dict[str, Any]:
    record = project_of(store, project)
    ontology = record.ontology
    return {
        **project_dict(record),
        "data_units": project_counts(store, record)["data_units"],
        "ontology": {
            "objects": len(ontology.get("objects") or []),
            "classifications": len(ontology.get("classifications") or []),
        },
        "branches": branch_summaries(store, record),
    }


@router.get("/projects/{project}/ontology", summary="The ontology, as Encord ontology JSON")
def ontology_get(store: StoreDep, project: str) -> dict[str, Any]:
    return project_of(store, project).ontology


@router.get("/projects/{project}/data-units", summary="Data units, in the order added")
def units_list(store: StoreDep, project: str, offset: Offset = 0, limit: Limit = 100) -> Any:
    units, total = units_page(store, project_of(store, project), offset, limit)
    return page([unit_dict(u) for u in units], total, offset, limit)


@router.get("/projects/{project}/data-units/{data_hash}", summary="One data unit")
def unit_get(store: StoreDep, project: str, data_hash: str) -> dict[str, Any]:
    return unit_dict(unit_of(store, project_of(store, project), data_hash))


@router.get("/projects/{project}/branches", summary="Branches with label counts and last import")
def branches_list(store: StoreDep, project: str) -> dict[str, Any]:
    items = branch_summaries(store, project_of(store, project))
    return {"items": items, "total": len(items)}


@router.get(
    "/projects/{project}/branches/{branch}/label-rows",
    summary="Label rows of a branch, one per data unit, with their label documents",
)
def label_rows_page(
    store: StoreDep, project: str, branch: str, offset: Offset = 0, limit: Limit = 50
) -> dict[str, Any]:
    """As ``Project.list_label_rows_v2(branch_name=branch)``; ``document`` is the row's
    ``to_encord_dict()`` after ``initialise_labels()``, or null where the unit has no row there."""
    record = project_of(store, project)
    with store.read() as conn:
        require_branch(conn, record, branch)
    ontology = OntologyStructure.from_dict(record.ontology)
    backend = StoreRowBackend(store, record, ontology)
    records, total = rows_page(store, record, branch, offset, limit)
    chosen = [LabelRowV2(metadata_from_record(r), ontology, backend) for r in records]
    backend.initialise_rows([r for r in chosen if r.label_hash is not None])
    items = []
    for row in chosen:
        md = row.metadata
        items.append(
            {
                "data_hash": row.data_hash,
                "data_title": row.data_title,
                "data_type": row.data_type,
                "branch_name": row.branch_name,
                "label_hash": row.label_hash,
                "label_status": row.label_status,
                "created_at": md.created_at,
                "last_edited_at": md.last_edited_at,
                "document": row.to_encord_dict() if row.label_hash is not None else None,
            }
        )
    return page(items, total, offset, limit)
