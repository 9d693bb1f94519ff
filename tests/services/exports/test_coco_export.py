"""COCO export: pycocotools gives the original numbers; import -> export -> import is stable."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.exports.coco import export_coco, export_coco_file
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import (
    COCO_VAL,
    D2,
    coco_project,
    ontology,
    open_test_store,
    stored_annotations,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(tmp_path)


def _stats(gt: Path | str, dt: Path | str, iou_type: str) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt))
        res = coco.loadRes(str(dt))
        ev = COCOeval(coco, res, iou_type)
        ev.params.imgIds = sorted(coco.getImgIds())
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def _labels(store: Store, project: ProjectRecord, branch: str) -> list[tuple[Any, ...]]:
    """Comparable content of a branch: (title, object name, geometry dict, confidence, manual)."""
    from predscope.objects.coordinates import coordinates_to_encord

    return sorted(
        (
            row.data_title,
            inst.object_name,
            json.dumps(coordinates_to_encord(a.coordinates), sort_keys=True),
            a.confidence,
            a.manual_annotation,
        )
        for row, inst, a in stored_annotations(store, project, branch)
    )


@pytest.mark.slow
def test_coco_val_export_evaluates_like_the_originals(tmp_path: Path, store: Store) -> None:
    gt_file = COCO_VAL / "instances_val2014_100.json"
    bbox_file = COCO_VAL / "instances_val2014_fakebbox100_results.json"
    segm_file = COCO_VAL / "instances_val2014_fakesegm100_results.json"
    project = coco_project(store, gt_file, ("bounding_box", "bitmask"))
    import_coco(store, project, gt_file, ImportOptions(branch="main", ground_truth=True))
    import_coco(store, project, bbox_file, ImportOptions(branch="bbox"))
    import_coco(store, project, segm_file, ImportOptions(branch="segm"))
    assert export_coco_file(store, project, tmp_path / "gt.json") == 839
    assert (
        export_coco_file(store, project, tmp_path / "b.json", branch_name="bbox", results=True)
        == 734
    )
    assert (
        export_coco_file(store, project, tmp_path / "s.json", branch_name="segm", results=True)
        == 734
    )
    expected = json.loads((COCO_VAL / "expected_published.json").read_text())
    for iou_type, original, exported in (
        ("bbox", bbox_file, "b.json"),
        ("segm", segm_file, "s.json"),
    ):
        ours = _stats(tmp_path / "gt.json", tmp_path / exported, iou_type)
        theirs = _stats(gt_file, original, iou_type)
        assert np.array_equal(ours, theirs), iou_type
        published = expected[iou_type]
        values = published if isinstance(published, list) else list(published.values())
        assert np.allclose(ours, np.asarray(values, dtype=float), atol=1e-12)
    exported = json.loads((tmp_path / "gt.json").read_text())
    original = json.loads(gt_file.read_text())
    assert sorted(a["id"] for a in exported["annotations"]) == sorted(
        a["id"] for a in original["annotations"]
    )
    assert {im["id"] for im in exported["images"]} == {im["id"] for im in original["images"]}
    names = {c["id"]: c["name"] for c in original["categories"]}
    assert {c["id"]: c["name"] for c in exported["categories"]} == names


def test_detectron2_round_trip_and_parity(tmp_path: Path, store: Store) -> None:
    gt_file, dt_file = D2 / "gt_val2017_139_285.json", D2 / "dt_maskrcnn_139.json"
    gt = json.loads(gt_file.read_text())
    units = [
        {"title": im["file_name"], "width": im["width"], "height": im["height"]}
        for im in gt["images"]
    ]
    objects = [("person", "bounding_box"), ("person", "bitmask"), ("bed", "bitmask")]
    first = create_project(store, "first", ontology(objects))
    add_data(store, first, units)
    import_coco(store, first, gt_file, ImportOptions(branch="main", ground_truth=True))
    import_coco(store, first, dt_file, ImportOptions(branch="dt"))
    export_coco_file(store, first, tmp_path / "gt.json")
    export_coco_file(store, first, tmp_path / "dt.json", branch_name="dt", results=True)
    for iou_type in ("segm",):
        assert np.array_equal(
            _stats(tmp_path / "gt.json", tmp_path / "dt.json", iou_type),
            _stats(gt_file, dt_file, iou_type),
        )
    boxes = export_coco(store, first, branch_name="dt", results=True, iou_type="bbox")
    assert isinstance(boxes, list) and all(
        set(b) == {"image_id", "category_id", "score", "bbox"} for b in boxes
    )

    # Import the exports into a second project: the same labels come back.
    second = create_project(store, "second", ontology(objects))
    add_data(store, second, units)
    import_coco(
        store, second, tmp_path / "gt.json", ImportOptions(branch="main", ground_truth=True)
    )
    import_coco(store, second, tmp_path / "dt.json", ImportOptions(branch="dt"))
    for branch in ("main", "dt"):
        assert [x[1:] for x in _labels(store, first, branch)] == [
            x[1:] for x in _labels(store, second, branch)
        ]
    again = export_coco(store, second)
    assert isinstance(again, dict)
    assert again["annotations"] == json.loads((tmp_path / "gt.json").read_text())["annotations"]


def test_export_without_coco_provenance_numbers_ids(store: Store) -> None:
    project = create_project(store, "plain", ontology([("cat", "bounding_box")]))
    add_data(
        store,
        project,
        [
            {"title": "x.png", "width": 10, "height": 20},
            {"title": "y.png", "width": 30, "height": 40},
        ],
    )
    from predscope.objects.coordinates import BoundingBoxCoordinates

    onto = OntologyStructure.from_dict(project.ontology)
    row = list_label_rows(store, project, onto, branch_name="main")[1]
    row.initialise_labels()
    inst = onto.get_child_by_title("cat").create_instance()
    inst.set_for_frames(BoundingBoxCoordinates(0.5, 0.1, 0.2, 0.25), confidence=0.7)
    row.add_object_instance(inst)
    row.save()
    data = export_coco(store, project)
    assert isinstance(data, dict)
    assert [im["id"] for im in data["images"]] == [1, 2]
    assert data["categories"] == [{"id": 1, "name": "cat", "supercategory": ""}]
    (ann,) = data["annotations"]
    assert ann["image_id"] == 2 and ann["id"] == 1 and ann["iscrowd"] == 0
    assert ann["bbox"] == [6.0, 10.0, 3.0, 20.0]
    results = export_coco(store, project, results=True)
    assert results == [
        {"image_id": 2, "category_id": 1, "score": 0.7, "bbox": [6.0, 10.0, 3.0, 20.0]}
    ]


def test_coco_fields_per_shape() -> None:
    from predscope.formats.coco_writer import coco_fields
    from predscope.objects.coordinates import (
        PointCoordinate,
        PolygonCoordinates,
        RotatableBoundingBoxCoordinates,
        SkeletonCoordinate,
        SkeletonCoordinates,
        Visibility,
    )

    rot = coco_fields(
        RotatableBoundingBoxCoordinates(0.5, 0.25, 0.1, 0.2, 30.0), 100, 10, results=True
    )
    assert rot == {"bbox": [10.0, 2.0, 25.0, 5.0], "rotation": 30.0}
    ring = [PointCoordinate(0.1, 0.1), PointCoordinate(0.5, 0.1), PointCoordinate(0.5, 0.5)]
    poly = PolygonCoordinates(polygons=[[ring]])
    gt = coco_fields(
        poly, 10, 10, results=False, stored={"area": 3.5, "iscrowd": 1, "bbox": [1, 1, 4, 4]}
    )
    assert gt is not None
    assert gt["segmentation"] == [[1.0, 1.0, 5.0, 1.0, 5.0, 5.0]]
    assert (gt["area"], gt["iscrowd"], gt["bbox"]) == (3.5, 1, [1, 1, 4, 4])
    res = coco_fields(poly, 10, 10, results=True)
    assert res is not None and set(res) == {"segmentation"} and "counts" in res["segmentation"]
    assert coco_fields(poly, 10, 10, results=True, iou_type="bbox") == {
        "bbox": [1.0, 1.0, 4.0, 4.0]
    }
    skel = SkeletonCoordinates(
        [
            SkeletonCoordinate(0.5, 0.5, "nose", visibility=Visibility.VISIBLE),
            SkeletonCoordinate(0.0, 0.0, "eye", visibility=Visibility.INVISIBLE),
        ]
    )
    kp = coco_fields(skel, 10, 20, results=False, keypoint_names=["eye", "nose"])
    assert kp is not None
    assert kp["keypoints"] == [0, 0, 0, 5.0, 10.0, 2] and kp["num_keypoints"] == 1
    assert kp["bbox"] == [5.0, 10.0, 0.0, 0.0]
