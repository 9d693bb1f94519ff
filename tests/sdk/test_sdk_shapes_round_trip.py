"""Every shape, nested and dynamic answers and every classification kind,
written through the SDK's save path (bundles) and read back through a new client, on SQLite and
on PostgreSQL. The import path has its own round-trip tests; this one covers ``row.save``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from predscope.exceptions import CoordinatesError, FrameError
from predscope.objects.attributes import NumericAttribute, RadioAttribute, TextAttribute
from predscope.objects.classification import Classification
from predscope.objects.coordinates import (
    BitmaskCoordinates,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
)
from predscope.objects.frames import Range
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_object import Object
from predscope.objects.options import NestableOption
from predscope.sdk.client import Client
from predscope.sdk.project import Project

DATA = Path(__file__).resolve().parents[2] / "data"
CHELSEA = DATA / "skimage-images" / "images" / "chelsea.png"  # 451 x 300


def _ontology() -> dict[str, Any]:
    raw = json.loads((DATA / "encord-label-rows" / "ontology_all_types_dict.json").read_text())
    raw["objects"] += [
        {"id": "20", "name": "Mask", "color": "#000000", "shape": "bitmask",
         "featureNodeHash": "bWFzazk5", "required": False},
        {"id": "21", "name": "Turned", "color": "#000001", "shape": "rotatable_bounding_box",
         "featureNodeHash": "dHVybjk5", "required": False},
        {"id": "22", "name": "Speedy", "color": "#000002", "shape": "bounding_box",
         "featureNodeHash": "c3BlZWQ5", "required": False, "attributes": [
             {"id": "22.1", "name": "speed", "type": "numeric", "featureNodeHash": "c3BkYXQ5",
              "required": False, "dynamic": True}]},
    ]  # fmt: skip
    raw["classifications"].append(
        {"id": "30", "featureNodeHash": "Y291bnQ5", "attributes": [
            {"id": "30.1", "name": "count", "type": "numeric", "featureNodeHash": "Y250YXQ5",
             "required": False}]}
    )  # fmt: skip
    return raw


def _ring(*xy: float) -> list[PointCoordinate]:
    return [PointCoordinate(xy[i], xy[i + 1]) for i in range(0, len(xy), 2)]


MULTI_POLYGON = PolygonCoordinates(
    polygons=[
        [_ring(0.1, 0.1, 0.9, 0.1, 0.9, 0.9, 0.1, 0.9), _ring(0.4, 0.4, 0.6, 0.4, 0.6, 0.6)],
        [_ring(0.0, 0.0, 0.05, 0.0, 0.05, 0.05)],
    ]
)
MASK = np.zeros((300, 451), dtype=bool)
MASK[10:50, 20:200] = True
MASK[299, 450] = True


def _fill_image(row: LabelRowV2) -> None:
    onto = row.ontology_structure
    shapes: list[tuple[str, Any, float]] = [
        ("Box", BoundingBoxCoordinates(height=0.25, width=0.5, top_left_x=0.125, top_left_y=0.0625),
         0.875),
        ("Polygon", MULTI_POLYGON, 0.5),
        ("Polyline", PolylineCoordinates(_ring(0.0, 0.0, 1.0, 1.0, 0.5, 0.25)), 0.25),
        ("Keypoint", PointCoordinate(0.75, 0.125), 1.0),
        ("cone object", SkeletonCoordinates(
            [SkeletonCoordinate(x=0.1, y=0.2, name="tip"),
             SkeletonCoordinate(x=0.3, y=0.4, name="base")], name="cone"), -2.5),
        ("Mask", BitmaskCoordinates(MASK), 0.9),
        ("Turned", RotatableBoundingBoxCoordinates(
            height=0.1, width=0.2, top_left_x=0.3, top_left_y=0.3, theta=33.5), 7.0),
    ]  # fmt: skip
    for title, coords, confidence in shapes:
        inst = onto.get_child_by_title(title, type_=Object).create_instance()
        inst.set_for_frames(coords, frames=0, confidence=confidence, manual_annotation=False)
        row.add_object_instance(inst)
    deep = onto.get_child_by_title("Deeply Nested Polygon", type_=Object).create_instance()
    deep.set_for_frames(PolygonCoordinates(values=_ring(0.2, 0.2, 0.3, 0.2, 0.3, 0.3)))
    level1 = onto.get_child_by_title("Radio level 1 ", type_=RadioAttribute)
    level2 = onto.get_child_by_title("1 2 radio 1", type_=RadioAttribute)
    deep.set_answer(onto.get_child_by_title("1 option 2", type_=NestableOption), attribute=level1)
    deep.set_answer(onto.get_child_by_title("1 2 1 option 1", type_=NestableOption), level2)
    row.add_object_instance(deep)
    radio = onto.get_child_by_title("Radio classification 1", type_=Classification)
    answer = radio.create_instance()
    answer.set_answer(onto.get_child_by_title("cl 1 option 2", type_=NestableOption))
    answer.set_answer(
        "why not", attribute=onto.get_child_by_title("cl 1 2 text", type_=TextAttribute)
    )
    answer.set_for_frames(frames=0, confidence=0.625, manual_annotation=False)
    row.add_classification_instance(answer)
    text = onto.get_child_by_title("Text classification", type_=Classification).create_instance()
    text.set_answer("a cat")
    text.set_for_frames(frames=0)
    row.add_classification_instance(text)
    checklist = onto.get_child_by_title("Checklist classification", type_=Classification)
    ticks = checklist.create_instance()
    ticks.set_answer(list(checklist.attributes[0].options))
    ticks.set_for_frames(frames=0)
    row.add_classification_instance(ticks)


def _fill_video(row: LabelRowV2) -> None:
    onto = row.ontology_structure
    speedy = onto.get_child_by_title("Speedy", type_=Object)
    car = speedy.create_instance()
    box = BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.1, top_left_y=0.1)
    car.set_for_frames(box, frames=Range(2, 4), confidence=0.5, manual_annotation=False)
    car.set_for_frames(box, frames=[7, 9], confidence=0.25)
    speed = onto.get_child_by_title("speed", type_=NumericAttribute)
    car.set_answer(12.5, attribute=speed, frames=Range(2, 3))
    car.set_answer(3.0, attribute=speed, frames=4)
    row.add_object_instance(car)
    count = onto.get_child_by_title("count", type_=Classification).create_instance()
    count.set_answer(3.0)
    count.set_for_frames(frames=[Range(0, 4), Range(8, 9)], confidence=0.75)
    row.add_classification_instance(count)


def _project(client: Client) -> Project:
    project = client.create_project("audit-shapes", ontology=_ontology())
    project.add_data([
        CHELSEA,
        {"title": "clip.mp4", "data_type": "video", "width": 64, "height": 48,
         "number_of_frames": 10, "frames_per_second": 5.0, "duration": 2.0},
    ])  # fmt: skip
    return project


def _loaded(project: Project, branch: str) -> dict[str, LabelRowV2]:
    rows = project.list_label_rows_v2(branch_name=branch)
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    return {r.data_title: r for r in rows}


def _strip_times(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {
            k: _strip_times(v)
            for k, v in doc.items()
            if k not in {"createdAt", "lastEditedAt", "created_at", "last_edited_at"}
        }
    if isinstance(doc, list):
        return [_strip_times(v) for v in doc]
    return doc


def test_every_shape_and_answer_survives_save_and_reload(store_url: str) -> None:
    with Client(store_url) as client:
        project = _project(client)
        rows = _loaded(project, "model-x.v1")
        _fill_image(rows["chelsea.png"])
        _fill_video(rows["clip.mp4"])
        with project.create_bundle() as bundle:
            for row in rows.values():
                row.save(bundle=bundle)
        written = {t: copy.deepcopy(r.to_encord_dict()) for t, r in rows.items()}
    with Client(store_url) as client:  # a fresh client: nothing cached
        project = client.get_project("audit-shapes")
        assert project.list_branches() == ["model-x.v1"]
        back = _loaded(project, "model-x.v1")
        for title, doc in written.items():
            assert _strip_times(back[title].to_encord_dict()) == _strip_times(doc), title
        image = back["chelsea.png"]
        by_name = {o.object_name: o for o in image.get_object_instances()}
        assert by_name["Polygon"].get_annotation(0).coordinates == MULTI_POLYGON
        assert [len(p) for p in by_name["Polygon"].get_annotation(0).coordinates.polygons] == [2, 1]
        mask = by_name["Mask"].get_annotation(0).coordinates.to_numpy_array()
        assert mask.shape == (300, 451) and np.array_equal(mask, MASK)
        turned = by_name["Turned"].get_annotation(0)
        assert turned.coordinates.theta == 33.5 and turned.confidence == 7.0
        assert by_name["cone object"].get_annotation(0).confidence == -2.5
        assert [v.name for v in by_name["cone object"].get_annotation(0).coordinates.values] == [
            "tip", "base"
        ]  # fmt: skip
        onto = project.ontology_structure
        deep = by_name["Deeply Nested Polygon"]
        level2 = onto.get_child_by_title("1 2 radio 1", type_=RadioAttribute)
        assert deep.get_answer(level2).feature_node_hash == "MTY0MzU2"
        answers = {c.classification_name: c for c in image.get_classification_instances()}
        radio = answers["Radio classification 1"]
        assert (radio.get_answer().value, radio.get_answer().feature_node_hash) == (
            "cl_1_option_2", "MjUzMTg1"
        )  # fmt: skip
        assert radio.get_annotations()[0].confidence == 0.625
        assert answers["Text classification"].get_answer() == "a cat"
        assert len(answers["Checklist classification"].get_answer()) == 2
        video = back["clip.mp4"]
        [car] = video.get_object_instances()
        frames = [(a.frame, a.confidence, a.manual_annotation) for a in car.get_annotations()]
        assert frames == [(2, 0.5, False), (3, 0.5, False), (4, 0.5, False),
                          (7, 0.25, True), (9, 0.25, True)]  # fmt: skip
        speed = onto.get_child_by_title("speed", type_=NumericAttribute)
        assert {(a.answer, tuple(a.ranges)) for a in car.get_answer(speed)} == {
            (12.5, (Range(2, 3),)), (3.0, (Range(4, 4),))
        }  # fmt: skip
        [count] = video.get_classification_instances()
        assert [a.frame for a in count.get_annotations()] == [0, 1, 2, 3, 4, 8, 9]
        assert count.get_answer() == 3.0


def test_bad_geometry_is_refused_when_set_not_at_save(tmp_path: Path) -> None:
    with Client(tmp_path / "store") as client:
        project = _project(client)
        rows = _loaded(project, "main")
        image, video = rows["chelsea.png"], rows["clip.mp4"]
        onto = project.ontology_structure
        mask = onto.get_child_by_title("Mask", type_=Object).create_instance()
        image.add_object_instance(mask)
        with pytest.raises(CoordinatesError, match="300x451"):
            mask.set_for_frames(BitmaskCoordinates(np.zeros((451, 300), dtype=bool)))
        car = onto.get_child_by_title("Speedy", type_=Object).create_instance()
        video.add_object_instance(car)
        box = BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.1, top_left_y=0.1)
        with pytest.raises(FrameError, match="10 frame"):
            car.set_for_frames(box, frames=Range(8, 10))
        with pytest.raises(CoordinatesError, match="theta"):
            RotatableBoundingBoxCoordinates(
                height=0.1, width=0.1, top_left_x=0.1, top_left_y=0.1, theta=float("inf")
            )
        with pytest.raises(CoordinatesError, match="zero area"):
            PolygonCoordinates(polygons=[[_ring(0.1, 0.1, 0.2, 0.2, 0.3, 0.3)]])
        with pytest.raises(CoordinatesError, match=r"polygons\[0\]\[1\]"):  # a degenerate hole
            PolygonCoordinates(polygons=[[_ring(0.1, 0.1, 0.9, 0.1, 0.9, 0.9), _ring(0.2, 0.2)]])
        # The refused calls saved nothing: the rows on disk are still empty.
        stored = _loaded(project, "main")
        assert [len(r.get_object_instances()) for r in stored.values()] == [0, 0]
