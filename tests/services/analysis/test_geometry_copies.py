"""Evaluation reads each row's geometry copy instead of its JSON: both give the same columns,
bit for bit, and every writer of a document stores the copy of that document with it.

``read_both`` reads a branch as stored (copies where rows have them) and again with every
copy NULLed (the JSON alone, as before the copies existed), on the same image index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from predscope.formats.row_geometry import needs_json
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.sdk.client import Client
from predscope.services.analysis.evaluate import evaluate_branch
from predscope.services.branches import rename_branch
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.text import import_voc, import_yolo
from predscope.services.projects import add_data, create_project, get_project
from predscope.services.rows import copy_labels_to_branch, list_label_rows
from predscope.store.engine import Store, open_store
from predscope.store.label_rows import load_geometry
from predscope.store.records import ProjectRecord
from tests.services.analysis import test_inputs, test_mixed_shapes, test_skeleton_polyline_shapes
from tests.services.analysis.generated import generated_project
from tests.services.analysis.geometry_checks import (
    assert_copies_current,
    assert_paths_agree,
    assert_same_columns,
    read_both,
)
from tests.services.coco_fixtures import (
    COCO_VAL,
    D2,
    DATA,
    PADILLA,
    coco_project,
    encord_projects,
    ontology,
)

ENCORD = DATA / "encord-label-rows"
VOC = """<annotation>
  <filename>{name}</filename>
  <size><width>200</width><height>200</height></size>
  <object><name>person</name><score>{score}</score>
    <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>60</xmax><ymax>90</ymax></bndbox></object>
</annotation>
"""


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def test_sdk_rows_of_every_data_type_and_shape(store_url: str) -> None:
    """Boxes, rotated boxes and points on an image, a polygon and a bitmask in a group, a box
    on a video frame: copied rows and JSON rows in one chunk give the JSON's columns."""
    built = test_inputs._build(store_url)
    store, project, _ = next(built)
    usable, documents = assert_copies_current(store)
    # every row has a copy; the group's objects are polygon and bitmask classes, which the copy
    # does not carry, so that row is read from its JSON in the same chunk
    assert documents == 6 and usable == 6
    for branch in ("main", "model"):
        for iou_type in ("auto", "bbox", "segm"):
            assert_paths_agree(store, project, branch, iou_type=iou_type)
    with pytest.raises(StopIteration):
        next(built)


def test_generated_mixed_and_keypoint_cases(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "mixed"))
    project = create_project(store, "mixed", test_mixed_shapes._ontology())
    units = [{"title": f"{i:03d}.png", "width": 200, "height": 150} for i in range(24)]
    add_data(store, project, units)
    case = test_mixed_shapes._generate()
    for branch in ("main", "model"):
        test_mixed_shapes._write(store, project, branch, case[branch])
    assert_copies_current(store)
    for branch in ("main", "model"):
        for iou_type in ("auto", "bbox"):
            assert_paths_agree(store, project, branch, iou_type=iou_type)
    store.close()
    names = ("car", "hand", "road")
    store, project, _ = test_skeleton_polyline_shapes._build(str(tmp_path / "kp"), names)
    assert_copies_current(store)
    for branch in ("main", "model"):
        assert_paths_agree(store, project, branch)
    store.close()


def test_coco_imports_take_the_copy_and_equal_the_json(store: Store, tmp_path: Path) -> None:
    """The generated case (crowd GT with the importer's ``coco`` extras, scored boxes), COCO
    val 100 (boxes and masks), and detectron2's mini case."""
    project, _, _ = generated_project(store, tmp_path / "case", 40, 6)
    usable, documents = assert_copies_current(store)
    assert usable == documents == 80
    for branch in ("main", "model"):
        for iou_type in ("auto", "segm"):
            fast, slow = read_both(store, project, branch, iou_type)
            assert fast.image.size and fast.iscrowd.any() == (branch == "main")
            assert_same_columns(fast, slow)
    gt = COCO_VAL / "instances_val2014_100.json"
    coco = coco_project(store, gt, ("bounding_box", "bitmask"), title="val")
    import_coco(store, coco, gt, ImportOptions(ground_truth=True))
    for results in ("bbox", "segm"):
        dt = COCO_VAL / f"instances_val2014_fake{results}100_results.json"
        import_coco(store, coco, dt, ImportOptions(branch=results), gt_path=gt)
    for branch in ("main", "bbox", "segm"):
        for iou_type in ("auto", "bbox"):
            assert_paths_agree(store, coco, branch, iou_type=iou_type)
    d2 = coco_project(store, D2 / "gt_val2017_139_285.json", ("bounding_box",), title="d2")
    import_coco(store, d2, D2 / "gt_val2017_139_285.json", ImportOptions(ground_truth=True))
    import_coco(store, d2, D2 / "dt_maskrcnn_139.json", ImportOptions(branch="dt"))
    assert_copies_current(store)
    for branch in ("main", "dt"):
        assert_paths_agree(store, d2, branch)


def test_appended_yolo_voc_and_encord_imports_keep_copies_in_step(
    store: Store, tmp_path: Path
) -> None:
    project = create_project(store, "padilla", ontology([("person", "bounding_box")]))
    add_data(
        store,
        project,
        [{"title": f"0000{i}.jpg", "width": 200, "height": 200} for i in range(1, 8)],
    )
    import_yolo(
        store,
        project,
        PADILLA / "detections_rel",
        ImportOptions(branch="y"),
        class_mode="name",
        score_column="second",
    )
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "00001.txt").write_text("person 0.125 0.5 0.5 0.2 0.2\n")
    import_yolo(
        store, project, folder, ImportOptions(branch="y", append=True), class_mode="name",
        score_column="second",
    )  # fmt: skip
    voc = tmp_path / "voc"
    voc.mkdir()
    for i, score in ((1, 0.5), (2, 0.75)):
        (voc / f"0000{i}.xml").write_text(VOC.format(name=f"0000{i}.jpg", score=score))
    import_voc(store, project, voc, ImportOptions(ground_truth=True))
    assert_copies_current(store)
    for branch in ("main", "y"):
        assert_paths_agree(store, project, branch)
    encord, group = encord_projects(store)
    assert_copies_current(store)
    assert_paths_agree(store, encord, "main")
    assert_paths_agree(store, group, "main")


def test_copies_renames_and_edits_keep_copies_in_step(store: Store, tmp_path: Path) -> None:
    project, _, _ = generated_project(store, tmp_path / "case", 12, 4)
    assert copy_labels_to_branch(store, project, "copy", source_branch="model") == 12
    rename_branch(store, project, "copy", "renamed")
    usable, documents = assert_copies_current(store)
    assert usable == documents == 36
    fast, _ = read_both(store, project, "renamed")
    model, _ = read_both(store, project, "model")
    assert_same_columns(fast, model)
    # an SDK edit rewrites the copy with the document: the edited box is what is read
    ontology = OntologyStructure.from_dict(project.ontology)
    row = list_label_rows(store, project, ontology, branch_name="renamed")[3]
    row.initialise_labels()
    inst = row.get_object_instances()[0]
    inst.set_for_frames(
        BoundingBoxCoordinates(0.5, 0.25, 0.125, 0.0625), frames=0, confidence=0.5, overwrite=True
    )
    row.save()
    assert_copies_current(store)
    edited, slow = read_both(store, project, "renamed")
    assert_same_columns(edited, slow)
    at = edited.object_hashes.index(inst.object_hash)
    assert edited.score[at] == 0.5
    assert edited.bbox[at].tolist() == [80.0, 30.0, 160.0, 240.0]  # (h, w, x, y) 0.5 .25 .125 .0625


def test_rows_without_a_copy_are_read_from_their_json(store: Store, tmp_path: Path) -> None:
    """Rows written before m0010 (NULL) or with NEEDS_JSON mix with copied rows in a chunk."""
    project, _, _ = generated_project(store, tmp_path / "case", 30, 5)
    before = evaluate_branch(store, project, "model")
    with store.read() as conn:
        hashes = list(load_geometry(conn, []))  # nothing asked, nothing given
    assert hashes == []
    from predscope.store.schema import label_row_geometry, label_rows

    g = label_row_geometry.c
    with store.begin() as conn:
        conn.execute(label_row_geometry.delete().where(g.label_row_id % 3 == 0))
        conn.execute(
            label_row_geometry.update().where(g.label_row_id % 3 == 1).values(geometry=b"PG")
        )
    with store.read() as conn:
        held = load_geometry(
            conn,
            [
                r
                for (r,) in conn.execute(
                    label_rows.select().with_only_columns(label_rows.c.label_hash)
                )
            ],
        )
    assert sum(needs_json(g) for g in held.values()) > len(held) / 2
    after = evaluate_branch(store, project, "model")
    assert np.array_equal(before.evaluation.precision, after.evaluation.precision)
    assert before.evaluation.stats_list == after.evaluation.stats_list
    for branch in ("main", "model"):
        assert_paths_agree(store, project, branch)


def test_attribute_rows_are_read_from_their_json(tmp_path: Path) -> None:
    ontology = json.loads((ENCORD / "ontology_all_types_dict.json").read_text())
    with Client(tmp_path / "store") as client:
        project = client.create_project("attrs", ontology)
        project.add_data([{"title": f"{i}.jpg", "width": 100, "height": 100} for i in range(3)])
        onto = project.ontology_structure
        nested = onto.get_child_by_title("Nested Box", type_=Object)
        plain = next(
            o for o in onto.objects if o.shape.value == "bounding_box" and not o.attributes
        )
        for i, row in enumerate(project.list_label_rows_v2()):
            row.initialise_labels()
            klass = nested if i == 0 else plain
            inst = klass.create_instance()
            box = BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=0.1, top_left_y=0.1)
            inst.set_for_frames(box, frames=0)
            if i == 0:
                inst.set_answer("Lion", attribute=nested.attributes[0])
            row.add_object_instance(inst)
            row.save()
    with open_store(str(tmp_path / "store")) as store:
        usable, documents = assert_copies_current(store)
        assert (usable, documents) == (2, 3)
        record: ProjectRecord = get_project(store, "attrs")
        fast, slow = read_both(store, record, "main")
        assert_same_columns(fast, slow)
        assert [a for a in fast.attributes if a] == [(("First name", "Lion"),)]
