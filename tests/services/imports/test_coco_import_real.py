"""COCO import on real data: COCO val2014 (GT + bbox + segm), detectron2 mini, skimage demos."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.coordinates import BoundingBoxCoordinates, PolygonCoordinates
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import (
    COCO_VAL,
    D2,
    SKIMAGE,
    coco_project,
    ontology,
    open_test_store,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(tmp_path)


def rows_of(store: Store, project: ProjectRecord, branch: str) -> dict[str, LabelRowV2]:
    ontology = OntologyStructure.from_dict(project.ontology)
    rows = [
        r for r in list_label_rows(store, project, ontology, branch_name=branch) if r.label_hash
    ]
    for row in rows:
        row.initialise_labels()
    return {r.data_title: r for r in rows}


def _objects(rows: dict[str, LabelRowV2]) -> list[tuple[str, Any]]:
    out = []
    for title, row in rows.items():
        for inst in row.get_object_instances():
            out.append((title, inst))
    return out


@pytest.mark.slow
def test_coco_val_gt_and_two_prediction_branches(store: Store) -> None:
    gt_file = COCO_VAL / "instances_val2014_100.json"
    gt = json.loads(gt_file.read_text())
    images = {im["id"]: im for im in gt["images"]}
    project = coco_project(store, gt_file, ("bounding_box", "bitmask"))

    report = import_coco(store, project, gt_file, ImportOptions(branch="main", ground_truth=True))
    assert (report.objects, report.clipped, report.kind) == (839, 0, "dataset")
    # Categories with annotations pick the bitmask twin (the file has masks); the 10 unused
    # categories stay unmatched as ambiguous, which is harmless and reported.
    used = {a["category_id"] for a in gt["annotations"]}
    matched = {m.coco_id for m in report.mapping.categories if m.matched}
    assert matched == used
    assert {m.target.shape for m in report.mapping.categories if m.target} == {"bitmask"}
    main = rows_of(store, project, "main")
    objects = _objects(main)
    assert len(objects) == 839
    crowd = 0
    for _, inst in objects:
        ann = inst.get_annotation(0)
        coco = ann.extra["coco"]
        assert ann.confidence == 1.0 and ann.manual_annotation is True
        assert isinstance(ann.coordinates, BitmaskCoordinates)
        crowd += coco["iscrowd"]
    assert crowd == 9
    # Pixel-exact against pycocotools for a crowd RLE and a polygon.
    by_id = {inst.get_annotation(0).extra["coco"]["id"]: inst for _, inst in objects}
    for source in (
        a for a in gt["annotations"] if a["iscrowd"] or a["id"] == gt["annotations"][0]["id"]
    ):
        image = images[source["image_id"]]
        h, w = image["height"], image["width"]
        segm = source["segmentation"]
        rle = mask_utils.frPyObjects(segm, h, w)
        expected = mask_utils.decode(mask_utils.merge(rle) if isinstance(rle, list) else rle)
        got = by_id[source["id"]].get_annotation(0).coordinates.to_numpy_array()
        assert np.array_equal(got, expected.astype(bool))
        stored = by_id[source["id"]].get_annotation(0).extra["coco"]
        assert stored["area"] == source["area"] and stored["bbox"] == source["bbox"]

    bbox_file = COCO_VAL / "instances_val2014_fakebbox100_results.json"
    bbox = import_coco(store, project, bbox_file, ImportOptions(branch="bbox"))
    assert bbox.mapping_source == "recorded"
    assert (bbox.objects, bbox.rows, bbox.clipped) == (734, 99, 0)
    dets = json.loads(bbox_file.read_text())
    got = sorted(
        (title, round(a.coordinates.top_left_x, 12), a.confidence, a.manual_annotation)
        for title, inst in _objects(rows_of(store, project, "bbox"))
        for a in [inst.get_annotation(0)]
    )
    titles = {im["id"]: im["file_name"] for im in gt["images"]}
    want = sorted(
        (
            titles[d["image_id"]],
            round(d["bbox"][0] / images[d["image_id"]]["width"], 12),
            d["score"],
            False,
        )
        for d in dets
    )
    assert got == want

    segm_file = COCO_VAL / "instances_val2014_fakesegm100_results.json"
    segm = import_coco(store, project, segm_file, ImportOptions(branch="segm"))
    assert segm.objects == 734
    segm_rows = rows_of(store, project, "segm")
    first = json.loads(segm_file.read_text())[0]
    title = titles[first["image_id"]]
    masks = [i.get_annotation(0) for i in segm_rows[title].get_object_instances()]
    expected = mask_utils.decode(
        {"size": first["segmentation"]["size"], "counts": first["segmentation"]["counts"].encode()}
    ).astype(bool)
    match = [m for m in masks if m.confidence == first["score"]]
    assert match and np.array_equal(match[0].coordinates.to_numpy_array(), expected)


def test_detectron2_mini_polygon_gt_and_rle_detections(store: Store) -> None:
    gt_file = D2 / "gt_val2017_139_285.json"
    project = create_project(store, "d2", ontology([("person", "polygon"), ("person", "bitmask")]))
    gt = json.loads(gt_file.read_text())
    add_data(
        store,
        project,
        [
            {"title": im["file_name"], "width": im["width"], "height": im["height"]}
            for im in gt["images"]
        ],
    )
    report = import_coco(store, project, gt_file, ImportOptions(branch="main", ground_truth=True))
    assert report.objects == 2
    # Polygons in the file and a polygon object in the ontology: the polygon twin wins.
    assert report.mapping.categories[0].target is not None
    assert report.mapping.categories[0].target.shape == "polygon"
    dets = import_coco(
        store, project, D2 / "dt_maskrcnn_139.json", ImportOptions(branch="maskrcnn")
    )
    assert dets.objects == 3 and dets.mapping_source == "recorded"
    rows = rows_of(store, project, "maskrcnn")
    anns = sorted(
        (i.get_annotation(0) for i in rows["000000000139.jpg"].get_object_instances()),
        key=lambda a: -a.confidence,
    )
    assert [a.confidence for a in anns] == [
        0.9949821829795837,
        0.7685421705245972,
        0.07092753797769547,
    ]
    assert all(isinstance(a.coordinates, BitmaskCoordinates) for a in anns)
    assert anns[0].coordinates.height == 426 and anns[0].coordinates.width == 640
    main = rows_of(store, project, "main")
    polys = [
        i.get_annotation(0).coordinates for i in main["000000000139.jpg"].get_object_instances()
    ]
    assert all(isinstance(p, PolygonCoordinates) for p in polys)
    first = gt["annotations"][0]["segmentation"][0]
    ring = polys[0].polygons[0][0]
    assert ring[0].x * 640 == pytest.approx(first[0], abs=1e-9)
    assert ring[0].y * 426 == pytest.approx(first[1], abs=1e-9)
    assert "285" not in json.dumps([r.data_title for r in main.values()])


def _skimage_project(store: Store) -> ProjectRecord:
    objects = [
        ("face", "bounding_box"),
        ("person", "bounding_box"),
        ("person", "bitmask"),
        ("text", "polygon"),
    ]
    project = create_project(store, "skimage", ontology(objects))
    catalogue = json.loads((SKIMAGE / "images_coco.json").read_text())
    add_data(
        store,
        project,
        [
            {"title": im["file_name"], "width": im["width"], "height": im["height"]}
            for im in catalogue["images"]
        ],
    )
    return project


def test_skimage_predictions_via_gt_catalogue(store: Store) -> None:
    project = _skimage_project(store)
    catalogue = SKIMAGE / "images_coco.json"
    haar = import_coco(
        store,
        project,
        SKIMAGE / "pred_opencv_haar_hog.json",
        ImportOptions(branch="haar"),
        gt_path=catalogue,
    )
    raw = json.loads((SKIMAGE / "pred_opencv_haar_hog.json").read_text())
    assert haar.objects == len(raw) == 10 and haar.mapping_source == "gt"
    rows = rows_of(store, project, "haar")
    scores = sorted(i.get_annotation(0).confidence for _, i in _objects(rows))
    assert scores == sorted(d["score"] for d in raw)
    assert max(scores) > 1  # Haar level weights are unbounded and kept as given
    astro = [i.get_annotation(0) for i in rows["astronaut.png"].get_object_instances()]
    face = next(a for a in astro if a.confidence == pytest.approx(7.4477, abs=1e-4))
    assert isinstance(face.coordinates, BoundingBoxCoordinates)
    assert face.coordinates.top_left_x * 512 == pytest.approx(177)
    assert face.coordinates.width * 512 == pytest.approx(93)

    mp = import_coco(
        store,
        project,
        SKIMAGE / "pred_mediapipe_0.10.21.json",
        ImportOptions(branch="mediapipe"),
        gt_path=catalogue,
    )
    shapes = {m.name: m.target.shape for m in mp.mapping.categories if m.target}
    assert shapes == {"face": "bounding_box", "person": "bitmask", "text": "polygon"}
    rows = rows_of(store, project, "mediapipe")
    masks = [
        a
        for _, i in _objects(rows)
        for a in [i.get_annotation(0)]
        if isinstance(a.coordinates, BitmaskCoordinates)
    ]
    assert len(masks) == 1 and masks[0].confidence == pytest.approx(0.9859)
    assert masks[0].coordinates.to_numpy_array().sum() > 1000

    ocr = import_coco(
        store,
        project,
        SKIMAGE / "pred_rapidocr_1.4.4.json",
        ImportOptions(branch="ocr"),
        gt_path=catalogue,
    )
    assert ocr.objects == 6 and ocr.per_class == {"text": 6}
    rows = rows_of(store, project, "ocr")
    assert len(rows["page.png"].get_object_instances()) == 5
    poly = rows["page.png"].get_object_instances()[0].get_annotation(0).coordinates
    assert isinstance(poly, PolygonCoordinates) and len(poly.polygons[0][0]) == 4
