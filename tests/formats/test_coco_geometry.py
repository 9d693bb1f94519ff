from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as coco_mask
import pytest

from predscope.exceptions import ImportFormatError
from predscope.formats.coco_geometry import (
    bbox_looks_normalised,
    bitmask_to_coco_rle,
    box_to_coco_bbox,
    check_bboxes_in_pixels,
    coco_bbox_to_box,
    coco_keypoints_to_skeleton,
    coco_polygon_to_bitmask,
    coco_polygon_to_polygon,
    coco_rle_to_bitmask,
    polygon_has_holes,
    polygon_to_coco_rle,
    polygon_to_coco_segmentation,
    segmentation_area_bbox,
    skeleton_to_coco_keypoints,
)
from predscope.objects.coordinates import (
    PointCoordinate,
    PolygonCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
    Visibility,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "coco-val2014-100"


@pytest.fixture(scope="module")
def gt() -> dict[str, Any]:
    return json.loads((DATA / "instances_val2014_100.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sizes(gt: dict[str, Any]) -> dict[int, tuple[int, int]]:
    return {im["id"]: (im["width"], im["height"]) for im in gt["images"]}


def test_gt_boxes_round_trip_to_the_same_pixels(
    gt: dict[str, Any], sizes: dict[int, tuple[int, int]]
) -> None:
    clipped_count = 0
    for ann in gt["annotations"]:
        w, h = sizes[ann["image_id"]]
        box, clipped = coco_bbox_to_box(ann["bbox"], w, h)
        clipped_count += clipped
        assert box.top_left_x == ann["bbox"][0] / w or clipped
        if not clipped:
            assert box_to_coco_bbox(box, w, h) == ann["bbox"]
            again, _ = coco_bbox_to_box(box_to_coco_bbox(box, w, h), w, h)
            assert again == box
    assert clipped_count < len(gt["annotations"]) / 10


def test_gt_polygons_round_trip_exactly(
    gt: dict[str, Any], sizes: dict[int, tuple[int, int]]
) -> None:
    checked = 0
    for ann in gt["annotations"]:
        segm = ann["segmentation"]
        if not isinstance(segm, list):
            continue
        w, h = sizes[ann["image_id"]]
        polygon, clipped = coco_polygon_to_polygon(segm, w, h)
        assert len(polygon.polygons) == len(segm)
        if clipped:
            continue
        assert polygon_to_coco_segmentation(polygon, w, h) == segm
        assert not polygon_has_holes(polygon)
        checked += 1
    assert checked > 700


def test_gt_crowd_rle_is_pixel_exact(gt: dict[str, Any], sizes: dict[int, tuple[int, int]]) -> None:
    crowd = [a for a in gt["annotations"] if isinstance(a["segmentation"], dict)]
    assert len(crowd) == 9 and all(isinstance(a["segmentation"]["counts"], list) for a in crowd)
    for ann in crowd:
        w, h = sizes[ann["image_id"]]
        rle = ann["segmentation"]
        expected = coco_mask.decode(coco_mask.frPyObjects(rle, h, w)).astype(bool)
        bitmask = coco_rle_to_bitmask(rle, w, h)
        assert np.array_equal(bitmask.to_numpy_array(), expected)
        out = bitmask_to_coco_rle(bitmask)
        assert np.array_equal(coco_mask.decode(out).astype(bool), expected)
        area, _ = segmentation_area_bbox(rle, w, h)
        assert area == float(expected.sum())


def test_results_rle_is_pixel_exact(sizes: dict[int, tuple[int, int]]) -> None:
    results = json.loads((DATA / "instances_val2014_fakesegm100_results.json").read_text())
    for det in results[::7]:
        w, h = sizes[det["image_id"]]
        rle = det["segmentation"]
        bitmask = coco_rle_to_bitmask(rle, w, h)
        expected = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
        assert np.array_equal(bitmask.to_numpy_array(), expected.astype(bool))
        assert (
            bitmask.rle_string == coco_mask.encode(np.asfortranarray(expected.T))["counts"].decode()
        )
        assert bitmask_to_coco_rle(bitmask) == {"size": rle["size"], "counts": rle["counts"]}


def test_bbox_clipping_is_reported() -> None:
    box, clipped = coco_bbox_to_box([-10, 20, 50, 500], 100, 200)
    assert clipped
    assert (box.top_left_x, box.top_left_y, box.width, box.height) == (0.0, 0.1, 0.4, 0.9)
    box, clipped = coco_bbox_to_box([10, 20, 30, 40], 100, 200)
    assert not clipped and box.width == 0.3
    # fully outside: clipped to an empty box at the edge, and reported
    box, clipped = coco_bbox_to_box([150, 10, 10, 10], 100, 200)
    assert clipped and box.width == 0.0 and box.top_left_x == 1.0


@pytest.mark.parametrize(
    ("bbox", "match"),
    [
        ([1, 2, 3], "4 numbers"),
        ([1, 2, -3, 4], "negative"),
        ([1, 2, float("nan"), 4], "finite"),
        ("1,2,3,4", "finite numbers"),
        ([1, 2, True, 4], "finite numbers"),
    ],
)
def test_bad_bbox(bbox: object, match: str) -> None:
    with pytest.raises(ImportFormatError, match=f"preds.json:annotations\\[3\\].bbox: .*{match}"):
        coco_bbox_to_box(bbox, 100, 100, "preds.json", "annotations[3].bbox")


def test_bad_image_size() -> None:
    with pytest.raises(ImportFormatError, match="not positive"):
        coco_bbox_to_box([1, 1, 1, 1], 0, 100)


def test_normalised_boxes_are_flagged() -> None:
    assert bbox_looks_normalised([0.1, 0.2, 0.3, 0.4], 640, 480)
    assert not bbox_looks_normalised([0.1, 0.2, 3.0, 0.4], 640, 480)
    assert not bbox_looks_normalised([0.1, 0.2, 0.3, 0.4], 2, 2)
    boxes = [([0.1, 0.2, 0.3, 0.4], 640, 480), ([0.5, 0.5, 0.1, 0.1], 640, 480)]
    with pytest.raises(ImportFormatError, match="look normalised"):
        check_bboxes_in_pixels(boxes, "dets.json")
    check_bboxes_in_pixels([*boxes, ([10, 10, 5, 5], 640, 480)], "dets.json")


def test_nested_segmentation_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="list of lists of lists"):
        coco_polygon_to_polygon([[[1, 2, 3, 4, 5, 6]]], 10, 10, "a.json", "annotations[0]")


@pytest.mark.parametrize(
    ("segm", "match"),
    [
        ({"size": [2, 2], "counts": [4]}, "RLE dict"),
        ([], "non-empty"),
        ([[1, 2, 3, 4]], "at least 6"),
        ([[1, 2, 3, 4, 5, 6, 7]], "even count"),
        ([[1, 1, 2, 2, 3, 3]], "zero area"),
        ([["1", 2, 3, 4, 5, 6]], "finite numbers"),
    ],
)
def test_bad_polygon(segm: object, match: str) -> None:
    with pytest.raises(ImportFormatError, match=match):
        coco_polygon_to_polygon(segm, 10, 10)


def test_polygon_parts_become_polygons_and_clip() -> None:
    segm = [[0, 0, 5, 0, 5, 5], [6, 6, 12, 6, 9, 9]]
    polygon, clipped = coco_polygon_to_polygon(segm, 10, 10)
    assert clipped
    assert len(polygon.polygons) == 2 and all(len(p) == 1 for p in polygon.polygons)
    assert polygon.polygons[1][0][1] == PointCoordinate(1.0, 0.6)


def test_polygon_with_hole_rasterises_without_the_hole() -> None:
    outer = [PointCoordinate(x / 20, y / 20) for x, y in ((2, 2), (18, 2), (18, 18), (2, 18))]
    hole = [PointCoordinate(x / 20, y / 20) for x, y in ((8, 8), (12, 8), (12, 12), (8, 12))]
    polygon = PolygonCoordinates(polygons=[[outer, hole]])
    assert polygon_has_holes(polygon)
    rle = polygon_to_coco_rle(polygon, 20, 20)
    mask = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    assert mask[5, 5] == 1 and mask[10, 10] == 0
    filled = coco_mask.decode(
        coco_mask.merge(coco_mask.frPyObjects([[2, 2, 18, 2, 18, 18, 2, 18]], 20, 20))
    )
    assert 0 < mask.sum() < filled.sum()


def test_polygon_to_bitmask_matches_pycocotools() -> None:
    segm = [[1.5, 1.5, 30.2, 4.0, 20.0, 25.7], [35, 5, 39, 5, 39, 9]]
    bitmask = coco_polygon_to_bitmask(segm, 40, 30)
    expected = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(segm, 30, 40)))
    assert np.array_equal(bitmask.to_numpy_array(), expected.astype(bool))
    area, bbox = segmentation_area_bbox(segm, 40, 30)
    assert area == float(expected.sum()) and bbox[0] == pytest.approx(1.5, abs=1)


def test_rle_size_must_match_image() -> None:
    rle = coco_mask.encode(np.asfortranarray(np.ones((3, 4), dtype=np.uint8)))
    with pytest.raises(ImportFormatError, match=r"differs from the image's \[4, 3\]"):
        coco_rle_to_bitmask(rle, 3, 4, "x.json", "annotations[1].segmentation")
    with pytest.raises(ImportFormatError, match="cover 5 pixels"):
        coco_rle_to_bitmask({"size": [3, 4], "counts": [5]}, 4, 3)
    with pytest.raises(ImportFormatError, match="RLE dict"):
        coco_rle_to_bitmask([1, 2], 4, 3)


NAMES = ["nose", "left_eye", "right_eye"]


def test_keypoints_round_trip_with_visibility() -> None:
    kps = [10, 20, 2, 0, 0, 0, 30.5, 40, 1]
    skeleton, clipped = coco_keypoints_to_skeleton(
        kps, NAMES, 100, 50, feature_hashes=["a", "b", "c"], skeleton_name="person"
    )
    assert not clipped and skeleton.name == "person"
    assert [p.visibility for p in skeleton.values] == [
        Visibility.VISIBLE,
        Visibility.INVISIBLE,
        Visibility.OCCLUDED,
    ]
    assert skeleton.values[0].feature_hash == "a" and skeleton.values[2].x == 0.305
    flat, labelled = skeleton_to_coco_keypoints(skeleton, 100, 50)
    assert flat == kps and labelled == 2
    reordered, _ = skeleton_to_coco_keypoints(skeleton, 100, 50, names=["right_eye", "ear"])
    assert reordered == [30.5, 40, 1, 0, 0, 0]


def test_self_occluded_and_unset_visibility_export() -> None:
    skeleton = SkeletonCoordinates(
        values=[
            SkeletonCoordinate(0.5, 0.5, "a", visibility=Visibility.SELF_OCCLUDED),
            SkeletonCoordinate(0.25, 0.5, "b"),
        ]
    )
    assert skeleton_to_coco_keypoints(skeleton, 4, 2) == ([2, 1, 1, 1, 1, 2], 2)


@pytest.mark.parametrize(
    ("kps", "match"),
    [
        ([1, 2, 2, 3, 4, 2], "category names 3"),
        ([1, 2, 3, 3, 4, 2, 5, 6, 2], "visibility flag 3"),
        ([1, 2, 2, 3, None, 2, 5, 6, 2], "finite numbers"),
    ],
)
def test_bad_keypoints(kps: list[Any], match: str) -> None:
    with pytest.raises(ImportFormatError, match=match):
        coco_keypoints_to_skeleton(kps, NAMES, 100, 100)


def test_keypoints_outside_image_are_clipped_and_reported() -> None:
    skeleton, clipped = coco_keypoints_to_skeleton([120, 5, 2, 1, 1, 2, 2, 2, 2], NAMES, 100, 10)
    assert clipped and skeleton.values[0].x == 1.0
