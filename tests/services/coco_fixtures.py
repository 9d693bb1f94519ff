"""Helpers shared by the COCO/YOLO/VOC service tests: projects built from the data folder."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_object_instance import Annotation, ObjectInstance
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord

DATA = Path(__file__).resolve().parents[2] / "data"
COCO_VAL = DATA / "coco-val2014-100"
D2 = DATA / "detectron2-coco-mini"
SKIMAGE = DATA / "skimage-images"
PADILLA = DATA / "padilla-voc-sample-7"


def ontology(objects: list[tuple[str, str]]) -> dict[str, Any]:
    """An Encord ontology dict with one object per (title, shape)."""
    return {
        "objects": [
            {
                "id": str(i + 1),
                "name": name,
                "color": "#D33115",
                "shape": shape,
                "featureNodeHash": uuid.uuid4().hex[:8],
                "required": False,
            }
            for i, (name, shape) in enumerate(objects)
        ],
        "classifications": [],
    }


def coco_project(
    store: Store, gt_file: Path, shapes: tuple[str, ...], title: str = "coco"
) -> ProjectRecord:
    """Data units titled and sized like the dataset's images; objects per category and shape."""
    gt = json.loads(gt_file.read_text())
    objects = [(c["name"], shape) for shape in shapes for c in gt["categories"]]
    project = create_project(store, title, ontology(objects))
    items = [
        {"title": im["file_name"], "width": im["width"], "height": im["height"]}
        for im in gt["images"]
    ]
    add_data(store, project, items)
    return project


def open_test_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store for a ``store`` fixture (the store helper's tests cover PostgreSQL)."""
    opened = open_store(str(tmp_path / "store"))
    yield opened
    opened.close()


def count_rows(store: Store) -> tuple[int, int, int]:
    """(label rows, objects, imports) in the whole store, to prove failures change nothing."""
    from sqlalchemy import func, select

    from predscope.store.schema import imports, label_rows

    with store.read() as conn:
        rows = conn.execute(select(func.count()).select_from(label_rows)).scalar_one()
        objects = conn.execute(
            select(func.coalesce(func.sum(label_rows.c.object_count), 0))
        ).scalar_one()
        done = conn.execute(select(func.count()).select_from(imports)).scalar_one()
    return int(rows), int(objects), int(done)


def stored_annotations(
    store: Store, project: ProjectRecord, branch: str
) -> Iterator[tuple[LabelRowV2, ObjectInstance, Annotation]]:
    """Every stored object of a branch with its frame-0 annotation, read back through the SDK."""
    onto = OntologyStructure.from_dict(project.ontology)
    for row in list_label_rows(store, project, onto, branch_name=branch):
        if row.label_hash is None:
            continue
        row.initialise_labels()
        for inst in row.get_object_instances():
            yield row, inst, inst.get_annotation(0)


def encord_projects(store: Store) -> tuple[ProjectRecord, ProjectRecord]:
    """The shipped Encord label rows imported on main: an image project of every shape
    ("encord") and an image group ("group")."""
    from predscope.services.imports.encord import import_encord
    from predscope.services.imports.options import ImportOptions

    rows = DATA / "encord-label-rows"
    encord = create_project(store, "encord", rows / "ontology_all_types_dict.json")
    add_data(store, encord, [{"title": "rousseau_2.jpg", "width": 1200, "height": 924}])
    import_encord(
        store, encord, [rows / "label_row_native_image.json"], ImportOptions(branch="main")
    )
    group = create_project(store, "group", rows / "ontology_image_group.json")
    units = json.loads((rows / "label_row_image_group.json").read_text())["data_units"]
    images = [
        {"title": u["data_title"], "width": 952, "height": 678}
        for u in sorted(units.values(), key=lambda u: int(u["data_sequence"]))
    ]
    add_data(store, group, [{"title": "image-group-8375e", "images": images}])
    import_encord(store, group, [rows / "label_row_image_group.json"], ImportOptions(branch="main"))
    return encord, group
