"""How stored rows become evaluation inputs: image index, pixels, shapes, areas, errors.

Rows are written with the SDK-level objects (no COCO import), so every value here is chosen by
the test and checked against pycocotools' own rasteriser or plain arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth
from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    RotatableBoundingBoxCoordinates,
)
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.analysis.evaluate import branch_inputs, evaluate_branch
from predscope.services.analysis.inputs import to_pixels
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord

SHAPES = {
    "car": "bounding_box",
    "boat": "rotatable_bounding_box",
    "lake": "polygon",
    "blob": "bitmask",
    "pin": "point",
}
# (title, width, height) of the image unit, the two images of a group, and the video.
IMAGE = ("a.png", 100, 50)
GROUP = (("g0.png", 40, 30), ("g1.png", 20, 10))
VIDEO = ("v.mp4", 64, 48, 3)


def _ontology() -> dict[str, Any]:
    objects = [
        {
            "id": str(i + 1),
            "name": name,
            "color": "#FF0000",
            "shape": shape,
            "featureNodeHash": f"fh-{name}",
        }
        for i, (name, shape) in enumerate(SHAPES.items())
    ]
    return {"objects": objects, "classifications": []}


def _blob_mask() -> np.ndarray:
    mask = np.zeros((30, 40), dtype=bool)
    mask[5:12, 10:30] = True
    mask[20, 3] = True
    return mask


def _ring(*xy: float) -> list[PointCoordinate]:
    return [PointCoordinate(xy[i], xy[i + 1]) for i in range(0, len(xy), 2)]


def _place(store: Store, project: ProjectRecord, branch: str, confidence: float) -> dict[str, str]:
    """The same objects on ``branch``; returns object name -> object hash."""
    ontology = OntologyStructure.from_dict(project.ontology)
    rows = {r.data_title: r for r in list_label_rows(store, project, ontology, branch_name=branch)}
    hashes: dict[str, str] = {}

    def add(title: str, name: str, coords: Any, frame: int = 0) -> None:
        row = rows[title]
        if not row.is_labelling_initialised:
            row.initialise_labels()
        inst = ontology.get_child_by_title(name, type_=Object).create_instance()
        inst.set_for_frames(coords, frames=frame, confidence=confidence)
        row.add_object_instance(inst)
        hashes[f"{name}@{title}#{frame}"] = inst.object_hash

    # car: x 12.34 px, y 5.5 px, w 30.1 px, h 20.2 px on a 100x50 image
    add("a.png", "car", BoundingBoxCoordinates(20.2 / 50, 30.1 / 100, 12.34 / 100, 5.5 / 50))
    add("a.png", "pin", PointCoordinate(0.5, 0.5))
    # a 20x10 px boat rotated 90 degrees about its centre (60, 25)
    add("a.png", "boat", RotatableBoundingBoxCoordinates(10 / 50, 20 / 100, 0.5, 0.4, 90.0))
    outer = _ring(0.1, 0.1, 0.9, 0.1, 0.9, 0.9, 0.1, 0.9)
    hole = _ring(0.4, 0.4, 0.6, 0.4, 0.6, 0.6, 0.4, 0.6)
    add("group", "lake", PolygonCoordinates(polygons=[[outer, hole]]), frame=1)
    add("group", "blob", BitmaskCoordinates(_blob_mask()), frame=0)
    add("v.mp4", "car", BoundingBoxCoordinates(0.5, 0.25, 0.5, 0.25), frame=2)
    for row in rows.values():
        if row.is_labelling_initialised:
            row.save()
    return hashes


Built = tuple[Store, ProjectRecord, dict[str, str]]


@pytest.fixture
def both_stores(store_url: str) -> Iterator[Built]:
    """The shapes project on SQLite and on PostgreSQL."""
    yield from _build(store_url)


@pytest.fixture
def project_store(tmp_path: Path) -> Iterator[Built]:
    """The shapes project on SQLite only (keeps the directory fast)."""
    yield from _build(str(tmp_path / "store"))


def _build(location: str) -> Iterator[Built]:
    store = open_store(location)
    project = create_project(store, "shapes", _ontology())
    title, width, height = IMAGE
    add_data(store, project, [{"title": title, "width": width, "height": height}])
    group = [{"title": t, "width": w, "height": h} for t, w, h in GROUP]
    add_data(store, project, [{"title": "group", "images": group}])
    title, width, height, frames = VIDEO
    add_data(
        store,
        project,
        [
            {
                "title": title,
                "data_type": "video",
                "width": width,
                "height": height,
                "number_of_frames": frames,
            }
        ],
    )
    hashes = _place(store, project, "main", 1.0)
    hashes.update({f"pred:{k}": v for k, v in _place(store, project, "model", 0.75).items()})
    yield store, project, hashes
    store.close()


def test_to_pixels_restores_decimal_coordinates() -> None:
    rng = np.random.default_rng(7)
    size = rng.integers(1, 5000, 20000).astype(np.float64)
    pixels = np.round(rng.uniform(0, 1, 20000) * size, 2)
    restored = to_pixels(pixels / size, size)
    np.testing.assert_array_equal(restored, pixels)


def test_image_index_and_geometry(both_stores: Built) -> None:
    store, project, hashes = both_stores
    result = evaluate_branch(store, project, "model")
    group_hash = result.images[1][0]
    assert [f for _, f in result.images] == [0, 0, 1, 0, 1, 2]  # image, group x2, video x3
    assert result.image_titles[1:3] == ("group/g0.png", "group/g1.png")
    assert result.category_names == ("car", "boat", "lake", "blob")  # the point is not evaluated
    gt = result.ground_truth
    assert isinstance(gt, CocoGroundTruth)
    assert gt.image.tolist() == [0, 0, 1, 2, 5]
    assert [result.category_names[c] for c in gt.category] == ["car", "boat", "blob", "lake", "car"]
    # car: the exact decimal pixels survive normalisation; area w*h; not crowd
    np.testing.assert_array_equal(gt.bbox[0], [12.34, 5.5, 30.1, 20.2])
    assert gt.area[0] == 30.1 * 20.2 and not gt.iscrowd.any()
    # boat rotated 90 degrees: the hull is 10 wide, 20 high around (60, 25); area stays 20*10
    np.testing.assert_allclose(gt.bbox[1], [55.0, 15.0, 10.0, 20.0], atol=1e-9)
    assert gt.area[1] == pytest.approx(200.0)
    # blob: mask extent and pixel count
    np.testing.assert_array_equal(gt.bbox[2], [3.0, 5.0, 27.0, 16.0])
    assert gt.area[2] == _blob_mask().sum()
    # lake on the 20x10 image: coordinate extent, area = outer minus hole, rasterised as COCO does
    np.testing.assert_allclose(gt.bbox[3], [2.0, 1.0, 16.0, 8.0])
    outer = mask_utils.frPyObjects([[2, 1, 18, 1, 18, 9, 2, 9]], 10, 20)
    hole = mask_utils.frPyObjects([[8, 4, 12, 4, 12, 6, 8, 6]], 10, 20)
    expected = mask_utils.decode(outer)[..., 0] & ~mask_utils.decode(hole)[..., 0].astype(bool)
    assert gt.area[3] == expected.sum() < mask_utils.area(outer)[0]
    # video frame 2, 64x48
    np.testing.assert_array_equal(gt.bbox[4], [32.0, 12.0, 16.0, 24.0])
    assert group_hash == result.images[2][0]
    assert result.gt_object_hashes[4] == hashes["car@v.mp4#2"]


def test_identical_predictions_score_perfectly(
    project_store: Built,
) -> None:
    store, project, hashes = project_store
    for iou_type in ("bbox", "segm"):
        result = evaluate_branch(store, project, "model", iou_type=iou_type)
        ap = {c.name: c.ap for c in result.evaluation.per_class}
        assert ap == pytest.approx({"car": 1.0, "boat": 1.0, "lake": 1.0, "blob": 1.0}, abs=1e-12)
        rows = result.detection_outcomes(0.75)
        assert [r["outcome"] for r in rows] == ["TP"] * 5
        assert [r["score"] for r in rows] == [0.75] * 5
        for row in rows:
            name = next(k[5:] for k, v in hashes.items() if v == row["object_hash"])
            assert row["matched_object_hash"] == hashes[name]
            assert row["iou"] == pytest.approx(1.0)
        assert result.missed_ground_truth(0.5) == []


def test_branch_inputs_by_branch(project_store: Built) -> None:
    store, project, _ = project_store
    gt = branch_inputs(store, project, "main", iou_type="segm")
    dt = branch_inputs(store, project.project_hash, "model")
    assert isinstance(gt, CocoGroundTruth) and gt.masks is not None and gt.num_images == 6
    assert isinstance(dt, CocoDetections) and dt.masks is None
    assert dt.score.tolist() == [0.75] * 5
    # A box's area is w*h, a polygon's its mask area, for predictions as for ground truth here.
    np.testing.assert_array_equal(dt.area, gt.area)


def test_errors_name_the_problem(project_store: Built) -> None:
    store, project, _ = project_store
    with pytest.raises(ResourceNotFoundError, match=r"'nope'; its branches are: main, model"):
        evaluate_branch(store, project, "nope")
    with pytest.raises(InvalidArgumentsError, match="keypoints"):
        evaluate_branch(store, project, "model", iou_type="keypoints")
    with pytest.raises(InvalidArgumentsError, match="ground-truth branch"):
        evaluate_branch(store, project, "main")


def test_project_without_evaluable_objects(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    try:
        ontology = {
            "objects": [
                {
                    "id": "1",
                    "name": "pin",
                    "color": "#000000",
                    "shape": "point",
                    "featureNodeHash": "p1",
                }
            ],
            "classifications": [],
        }
        project = create_project(store, "points", ontology)
        with pytest.raises(InvalidArgumentsError, match="nothing to evaluate"):
            evaluate_branch(store, project, "model")
    finally:
        store.close()
