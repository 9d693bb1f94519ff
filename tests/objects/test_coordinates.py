from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from predscope.exceptions import CoordinatesError
from predscope.objects.common import Shape
from predscope.objects.coordinates import (
    SHAPE_COORDINATES,
    AudioCoordinates,
    BitmaskCoordinates,
    BoundingBoxCoordinates,
    PointCoordinate,
    PointCoordinate3D,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
    TextCoordinates,
    Visibility,
    coordinates_from_encord,
    coordinates_to_encord,
)
from predscope.objects.frames import Range

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"
SQUARE = [PointCoordinate(0.1, 0.1), PointCoordinate(0.5, 0.1), PointCoordinate(0.5, 0.5)]
HOLE = [PointCoordinate(0.2, 0.2), PointCoordinate(0.3, 0.2), PointCoordinate(0.3, 0.3)]


def _frame_objects(name: str) -> list[dict[str, Any]]:
    row = json.loads((DATA / name).read_text())
    out: list[dict[str, Any]] = []
    for unit in row["data_units"].values():
        labels = unit["labels"]
        frames = [labels] if "objects" in labels else list(labels.values())
        for frame in frames:
            out.extend(frame.get("objects", []))
    return out


FIXTURE_OBJECTS = _frame_objects("label_row_native_image.json") + _frame_objects(
    "label_row_image_group.json"
)


def test_fixtures_have_geometry() -> None:
    shapes = sorted(o["shape"] for o in FIXTURE_OBJECTS)
    assert shapes.count("bounding_box") == 5 and shapes.count("polygon") == 2


@pytest.mark.parametrize("obj", FIXTURE_OBJECTS, ids=lambda o: o["objectHash"])
def test_fixture_geometry_round_trips_exactly(obj: dict[str, Any]) -> None:
    coords = coordinates_from_encord(obj, "fixture")
    assert isinstance(coords, SHAPE_COORDINATES[Shape(obj["shape"])])
    emitted = coordinates_to_encord(coords)
    expected = {k: obj[k] for k in emitted}
    assert json.dumps(emitted, sort_keys=True) == json.dumps(expected, sort_keys=True)
    # Same float objects' values, not merely close ones.
    assert set(emitted) <= set(obj)


def test_box_fields_and_encoding() -> None:
    box = BoundingBoxCoordinates(height=0.25, width=0.5, top_left_x=0.1, top_left_y=0.2)
    assert coordinates_to_encord(box) == {"boundingBox": {"h": 0.25, "w": 0.5, "x": 0.1, "y": 0.2}}
    with pytest.raises(AttributeError):
        box.height = 0.3  # type: ignore[misc]
    # ints and numpy floats are accepted and stored as plain floats
    other = BoundingBoxCoordinates(1, np.float32(0.5), 0, 0)  # type: ignore[arg-type]
    assert type(other.width) is float and other.height == 1.0


def test_tolerance_allows_float_noise_only() -> None:
    assert BoundingBoxCoordinates(0.5, 0.5, 1 + 5e-10, -5e-10).top_left_x == 1 + 5e-10
    with pytest.raises(CoordinatesError, match="top_left_x"):
        BoundingBoxCoordinates(0.5, 0.5, 1 + 1e-6, 0.0)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: BoundingBoxCoordinates(math.nan, 0.1, 0.1, 0.1), "height"),
        (lambda: BoundingBoxCoordinates(0.1, math.inf, 0.1, 0.1), "width"),
        (lambda: BoundingBoxCoordinates(-0.1, 0.1, 0.1, 0.1), "height"),
        (lambda: BoundingBoxCoordinates(0.1, 0.1, 1.5, 0.1), "top_left_x"),
        (lambda: BoundingBoxCoordinates(0.1, 0.1, 0.1, -0.2), "top_left_y"),
        (lambda: BoundingBoxCoordinates(0.1, 0.1, "0.1", 0.1), "top_left_x"),
        (lambda: BoundingBoxCoordinates(0.1, True, 0.1, 0.1), "width"),
        (lambda: BoundingBoxCoordinates(0.1, None, 0.1, 0.1), "width"),
        (lambda: RotatableBoundingBoxCoordinates(0.1, 0.1, 0.1, 0.1, math.nan), "theta"),
        (lambda: RotatableBoundingBoxCoordinates(0.1, 2.0, 0.1, 0.1, 0.0), "width"),
        (lambda: PointCoordinate(math.nan, 0.1), "x"),
        (lambda: PointCoordinate(0.1, 1.2), "y"),
        (lambda: PointCoordinate3D(0.1, 0.1, math.inf), "z"),
        (lambda: PolygonCoordinates(values=SQUARE[:2]), "at least 3"),
        (
            lambda: PolygonCoordinates(values=[PointCoordinate(v, v) for v in (0.1, 0.2, 0.3)]),
            "zero area",
        ),
        (lambda: PolygonCoordinates(), "exactly one"),
        (lambda: PolygonCoordinates(values=SQUARE, polygons=[[SQUARE]]), "exactly one"),
        (lambda: PolygonCoordinates(polygons=[]), "at least one polygon"),
        (lambda: PolygonCoordinates(polygons=[[]]), "no rings"),
        (lambda: PolygonCoordinates(polygons=[[SQUARE, HOLE[:2]]]), r"polygons\[0\]\[1\]"),
        (lambda: PolylineCoordinates(values=[PointCoordinate(0.1, 0.1)]), "at least 2"),
        (
            lambda: PolylineCoordinates(
                values=[PointCoordinate(0.1, 0.1), PointCoordinate3D(0.1, 0.1, 1.0)]  # type: ignore[list-item]
            ),
            "all PointCoordinate",
        ),
        (lambda: SkeletonCoordinates(values=[]), "at least 1"),
        (lambda: SkeletonCoordinate(0.1, 0.1, "nose", "h", visibility="hidden"), "visibility"),  # type: ignore[arg-type]
        (lambda: SkeletonCoordinate(0.1, 1.1, "nose", "h"), "y"),
        (lambda: AudioCoordinates(range=[]), "non-empty"),
        (lambda: TextCoordinates(range=[(0, 3)]), "expected Range"),  # type: ignore[list-item]
    ],
)
def test_validation_errors(make: Any, field: str) -> None:
    with pytest.raises(CoordinatesError, match=field):
        make()


def test_polygon_values_and_polygons() -> None:
    single = PolygonCoordinates(values=SQUARE)
    assert single.values == SQUARE
    assert single.polygons == [[SQUARE]]
    multi = PolygonCoordinates(polygons=[[SQUARE, HOLE], [HOLE]])
    assert multi.values == SQUARE
    assert multi.polygons[0][1] == HOLE and len(multi.polygons) == 2
    # Mutating returned lists does not change the coordinates.
    multi.polygons[0].clear()
    assert len(multi.polygons[0]) == 2
    encoded = coordinates_to_encord(multi)
    assert encoded["polygon"]["2"] == {"x": 0.5, "y": 0.5}
    assert encoded["polygons"][0][1] == [0.2, 0.2, 0.3, 0.2, 0.3, 0.3]
    assert coordinates_from_encord(encoded) == multi
    assert hash(multi) == hash(PolygonCoordinates(polygons=[[SQUARE, HOLE], [HOLE]]))


def test_polygons_key_wins_over_polygon() -> None:
    obj = {
        "polygon": {
            "0": {"x": 0.9, "y": 0.9},
            "1": {"x": 0.8, "y": 0.9},
            "2": {"x": 0.8, "y": 0.8},
        },
        "polygons": [[[0.1, 0.1, 0.5, 0.1, 0.5, 0.5]]],
    }
    assert coordinates_from_encord(obj) == PolygonCoordinates(values=SQUARE)
    # legacy list form, and polygons given as {x, y} dicts
    legacy = {"polygon": [{"x": p.x, "y": p.y} for p in SQUARE]}
    assert coordinates_from_encord(legacy) == PolygonCoordinates(values=SQUARE)
    dicts = {"polygons": [[[{"x": p.x, "y": p.y} for p in SQUARE]]]}
    assert coordinates_from_encord(dicts) == PolygonCoordinates(values=SQUARE)


def test_index_maps_are_read_in_numeric_order() -> None:
    points = {str(i): {"x": i / 20, "y": 0.5} for i in range(12)}
    shuffled = dict(sorted(points.items()))  # "10" sorts before "2" as strings
    line = coordinates_from_encord({"polyline": shuffled})
    assert isinstance(line, PolylineCoordinates)
    assert [p.x for p in line.values] == [i / 20 for i in range(12)]


def test_point_polyline_3d_round_trip() -> None:
    p3 = coordinates_from_encord({"point": {"0": {"x": 0.1, "y": 0.2, "z": 3.5}}})
    assert p3 == PointCoordinate3D(0.1, 0.2, 3.5)
    assert coordinates_to_encord(p3) == {"point": {"0": {"x": 0.1, "y": 0.2, "z": 3.5}}}
    p2 = PointCoordinate(0.3, 0.4)
    assert coordinates_from_encord(coordinates_to_encord(p2)) == p2
    line = PolylineCoordinates(
        values=[PointCoordinate3D(0.1, 0.1, 1), PointCoordinate3D(0.2, 0.2, 2)]
    )
    assert coordinates_from_encord(coordinates_to_encord(line)) == line


def test_rotatable_round_trip() -> None:
    r = RotatableBoundingBoxCoordinates(0.2, 0.3, 0.1, 0.1, -725.5)
    enc = coordinates_to_encord(r)
    assert enc["rotatableBoundingBox"]["theta"] == -725.5
    assert coordinates_from_encord(enc) == r


def test_skeleton_round_trip_and_old_visibility() -> None:
    sk = SkeletonCoordinates(
        values=[
            SkeletonCoordinate(
                0.1, 0.2, "nose", "fh1", color="#fff", visibility=Visibility.VISIBLE
            ),
            SkeletonCoordinate(0.3, 0.4, "eye", "fh2", visibility="selfOccluded"),  # type: ignore[arg-type]
            SkeletonCoordinate(0.0, 0.0, "ear", "fh3"),
        ],
        name="face",
    )
    assert sk.values[1].visibility is Visibility.SELF_OCCLUDED
    enc = coordinates_to_encord(sk)
    assert enc["skeleton"]["1"] == {
        "x": 0.3,
        "y": 0.4,
        "name": "eye",
        "featureHash": "fh2",
        "visibility": "selfOccluded",
    }
    assert "visibility" not in enc["skeleton"]["2"]
    assert coordinates_from_encord({**enc, "name": "face"}) == sk
    old = {
        "name": "face",
        "skeleton": {
            "0": {"x": 0.1, "y": 0.1, "name": "a", "featureHash": "f", "invisible": True},
            "1": {
                "x": 0.1,
                "y": 0.1,
                "name": "b",
                "featureHash": "g",
                "occluded": True,
                "invisible": False,
            },
        },
    }
    got = coordinates_from_encord(old)
    assert isinstance(got, SkeletonCoordinates)
    assert [v.visibility for v in got.values] == [Visibility.INVISIBLE, Visibility.OCCLUDED]


def test_bitmask_round_trip_through_encord() -> None:
    mask = np.zeros((5, 7), dtype=bool)
    mask[1:4, 2:6] = True
    enc = coordinates_to_encord(BitmaskCoordinates(mask))
    assert set(enc["bitmask"]) == {"top", "left", "height", "width", "rleString"}
    back = coordinates_from_encord(enc)
    assert isinstance(back, BitmaskCoordinates)
    assert np.array_equal(back.to_numpy_array(), mask)


def test_audio_and_text_ranges() -> None:
    audio = AudioCoordinates(range=[Range(0, 1500)])
    enc = coordinates_to_encord(audio)
    assert enc == {"range": [[0, 1500]]}
    assert coordinates_from_encord(enc) == audio
    text = TextCoordinates(range=[Range(3, 9)])
    assert coordinates_from_encord({**coordinates_to_encord(text), "shape": "text"}) == text


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ({"shape": "bounding_box"}, "no geometry key"),
        ({"boundingBox": {"h": 0.1, "w": 0.1, "x": 0.1}}, "boundingBox: malformed"),
        ({"boundingBox": {"h": 0.1, "w": 0.1, "x": 0.1, "y": 9}}, "boundingBox: .*top_left_y"),
        ({"polygons": [[[0.1, 0.1, 0.2]]]}, "odd number"),
        ({"polygon": {"a": {"x": 0.1, "y": 0.1}}}, "index map keys"),
        ({"polyline": 3}, "index map or a list"),
        ({"point": {}}, "has no point"),
        ({"skeleton": {"0": {"x": 0.1, "y": 0.1}}}, "malformed"),
        ({"bitmask": {"height": 2, "width": 2, "rleString": "1"}}, "covers 1 pixels"),
    ],
)
def test_from_encord_errors_name_where_and_key(obj: dict[str, Any], match: str) -> None:
    with pytest.raises(CoordinatesError, match=f"row.json:labels.0: .*{match}"):
        coordinates_from_encord(obj, "row.json:labels.0")


def test_shape_table_covers_every_coordinates_class() -> None:
    accepted = {cls for classes in SHAPE_COORDINATES.values() for cls in classes}
    assert PointCoordinate3D in SHAPE_COORDINATES[Shape.POINT]
    assert len(accepted) == 10
    assert Shape("time_range") is Shape.TIME_RANGE and Shape.CUBOID_2D == "cuboid_2d"


def test_unknown_type_cannot_be_encoded() -> None:
    with pytest.raises(CoordinatesError):
        coordinates_to_encord("box")  # type: ignore[arg-type]


def test_many_boxes_encode_independently() -> None:
    """A long run of boxes (the bulk-save path) encodes each one to its own values."""
    encoded = [
        coordinates_to_encord(BoundingBoxCoordinates(0.1, 0.2, (i % 100) / 100, 0.3))
        for i in range(20_000)
    ]
    assert len(encoded) == 20_000
    assert {e["boundingBox"]["x"] for e in encoded} == {i / 100 for i in range(100)}
    assert all(e["boundingBox"]["w"] == 0.2 and e["boundingBox"]["h"] == 0.1 for e in encoded)
