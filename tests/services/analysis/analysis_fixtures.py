"""Projects for the stored-analysis tests: coco-val2014-100 with GT on main, results on 'model'."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from predscope.sdk.project import Project
from predscope.store.engine import Store
from predscope.store.schema import analysis_objects
from tests.services.analysis.test_evaluate_coco import BBOX, coco_project


def bbox_project(store: Store, title: str = "coco-bbox") -> Project:
    return Project(store, coco_project(store, title, "bounding_box", BBOX))


def stored_objects(
    store: Store, set_id: int | None = None, *, with_id: bool = False
) -> list[dict[str, Any]]:
    """Every stored object row (without the surrogate id unless asked), in a stable order."""
    skip = ("set_id",) if with_id else ("id", "set_id")
    query = select(*[c for c in analysis_objects.c if c.name not in skip])
    if set_id is not None:
        query = query.where(analysis_objects.c.set_id == set_id)
    with store.read() as conn:
        rows = [dict(m) for m in conn.execute(query).mappings()]
    return sorted(rows, key=lambda r: (r["kind"], r["data_unit_id"], r["frame"], r["seq"]))


def edit_one_row(project: Project, branch: str, title: str) -> None:
    """Remove the first object of one row and lower another's confidence, then save."""
    row = project.list_label_rows_v2(branch_name=branch, data_title_eq=title)[0]
    row.initialise_labels()
    objects = row.get_object_instances()
    row.remove_object(objects[0])
    if len(objects) > 1:
        inst = objects[1]
        for annotation in inst.get_annotations():
            annotation.confidence = 0.01
    row.save()
