"""ObjectInstance: placement, validation, annotations and attribute answers."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from predscope.exceptions import (
    AnswerError,
    CoordinatesError,
    FrameError,
    InvalidArgumentsError,
    LabelRowError,
)
from predscope.objects.attributes import ChecklistAttribute, NumericAttribute, RadioAttribute
from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.common import Shape
from predscope.objects.coordinates import (
    AudioCoordinates,
    BoundingBoxCoordinates,
    PointCoordinate,
)
from predscope.objects.frames import Range
from predscope.objects.label_row import LabelRowV2
from predscope.objects.label_row_metadata import ImageInfo, LabelRowMetadata
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.objects.options import FlatOption, NestableOption

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"
BOX = BoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=0.3, top_left_y=0.4)


@pytest.fixture()
def ontology() -> OntologyStructure:
    return OntologyStructure.from_dict(
        json.loads((DATA / "ontology_all_types_dict.json").read_text())
    )


def _obj(ontology: OntologyStructure, title: str) -> Object:
    return ontology.get_child_by_title(title, type_=Object)


def _video_row(ontology: OntologyStructure, frames: int = 10) -> LabelRowV2:
    md = LabelRowMetadata(
        data_hash="video-1", data_type="video", number_of_frames=frames, width=64, height=48
    )
    row = LabelRowV2(md, ontology)
    row._load_labels(None)
    return row


def test_new_hash_is_sdk_shaped(ontology: OntologyStructure) -> None:
    inst = _obj(ontology, "Box").create_instance()
    assert re.fullmatch(r"[A-Za-z0-9+/]{8}", inst.object_hash)
    assert inst.object_name == "Box"
    assert inst.feature_hash == "MjI2NzEy"
    assert inst.ontology_item.uid == 1


def test_defaults_and_exact_confidence(ontology: OntologyStructure) -> None:
    inst = _obj(ontology, "Box").create_instance()
    inst.set_for_frames(BOX)
    first = inst.get_annotation(0)
    assert first.confidence == 1.0 and first.manual_annotation is True
    assert first.created_at is not None
    inst.set_for_frames(BOX, frames=[3, 1], confidence=0.1234567890123, manual_annotation=False)
    assert [a.frame for a in inst.get_annotations()] == [0, 1, 3]
    assert inst.get_annotation(3).confidence == 0.1234567890123
    assert inst.get_annotation(1).manual_annotation is False
    inst.set_for_frames(BOX, frames=5, confidence=7)  # any finite real is kept as given
    assert inst.get_annotation(5).confidence == 7


@pytest.mark.parametrize("bad", [math.nan, math.inf, "0.5", True])
def test_bad_confidence_refused(ontology: OntologyStructure, bad: object) -> None:
    inst = _obj(ontology, "Box").create_instance()
    with pytest.raises(InvalidArgumentsError, match="confidence"):
        inst.set_for_frames(BOX, confidence=bad)  # type: ignore[arg-type]
    assert inst.get_annotations() == []


def test_coordinates_must_fit_the_shape(ontology: OntologyStructure) -> None:
    inst = _obj(ontology, "Box").create_instance()
    with pytest.raises(CoordinatesError, match="BoundingBoxCoordinates"):
        inst.set_for_frames(PointCoordinate(0.1, 0.2))
    _obj(ontology, "Keypoint").create_instance().set_for_frames(PointCoordinate(0.1, 0.2))


def test_overwrite_needed_for_same_frame(ontology: OntologyStructure) -> None:
    inst = _obj(ontology, "Box").create_instance()
    inst.set_for_frames(BOX, frames=Range(0, 2))
    with pytest.raises(LabelRowError, match="overwrite"):
        inst.set_for_frames(BOX, frames=2)
    other = BoundingBoxCoordinates(0.5, 0.5, 0.0, 0.0)
    inst.set_for_frames(other, frames=2, overwrite=True)
    assert inst.get_annotation(2).coordinates == other


def test_frames_outside_row_refused_now_or_on_add(ontology: OntologyStructure) -> None:
    row = _video_row(ontology, frames=10)
    attached = _obj(ontology, "Box").create_instance()
    row.add_object_instance(attached)
    with pytest.raises(FrameError, match="frame 10"):
        attached.set_for_frames(BOX, frames=10)
    attached.set_for_frames(BOX, frames=9)
    detached = _obj(ontology, "Box").create_instance()
    detached.set_for_frames(BOX, frames=[2, 12])
    with pytest.raises(FrameError, match="frame 12"):
        row.add_object_instance(detached)
    assert detached not in row.get_object_instances()


def test_bitmask_must_match_frame_size(ontology: OntologyStructure) -> None:
    ontology.objects.append(Object(50, "bmhash01", "Mask", "#123456", Shape.BITMASK))
    row = _video_row(ontology)
    mask_object = ontology.get_child_by_title("Mask", type_=Object)
    good = mask_object.create_instance()
    row.add_object_instance(good)
    good.set_for_frames(BitmaskCoordinates(np.zeros((48, 64), dtype=bool)), frames=1)
    with pytest.raises(CoordinatesError, match="48x64"):
        good.set_for_frames(BitmaskCoordinates(np.zeros((64, 48), dtype=bool)), frames=2)


def test_bitmask_size_per_image_in_group(ontology: OntologyStructure) -> None:
    ontology.objects.append(Object(50, "bmhash01", "Mask", "#123456", Shape.BITMASK))
    md = LabelRowMetadata(
        data_hash="g",
        data_type="img_group",
        images=(
            ImageInfo(image_hash="i0", width=4, height=3),
            ImageInfo(image_hash="i1", width=5, height=5),
        ),
    )
    row = LabelRowV2(md, ontology)
    row._load_labels(None)
    inst = ontology.get_child_by_title("Mask", type_=Object).create_instance()
    inst.set_for_frames(BitmaskCoordinates(np.ones((5, 5), dtype=bool)), frames=1)
    row.add_object_instance(inst)
    inst.set_for_frames(BitmaskCoordinates(np.ones((3, 4), dtype=bool)), frames=0)
    with pytest.raises(CoordinatesError):
        inst.set_for_frames(
            BitmaskCoordinates(np.ones((3, 4), dtype=bool)), frames=1, overwrite=True
        )
    with pytest.raises(FrameError):
        inst.set_for_frames(BitmaskCoordinates(np.ones((3, 4), dtype=bool)), frames=2)


def test_remove_from_frames(ontology: OntologyStructure) -> None:
    inst = _obj(ontology, "Box").create_instance()
    inst.set_for_frames(BOX, frames=[0, 1, 2, 3])
    inst.remove_from_frames(Range(1, 2))
    assert [a.frame for a in inst.get_annotations()] == [0, 3]
    with pytest.raises(LabelRowError):
        inst.get_annotation(1)


def test_static_answers(ontology: OntologyStructure) -> None:
    nested_box = _obj(ontology, "Nested Box")
    text_attr, mood = nested_box.attributes
    assert isinstance(mood, ChecklistAttribute)
    inst = nested_box.create_instance()
    inst.set_answer("Lion", attribute=text_attr)
    inst.set_answer([mood.options[1]])
    assert inst.get_answer(text_attr) == "Lion"
    assert inst.get_answer(mood) == [mood.options[1]]
    with pytest.raises(LabelRowError, match="overwrite"):
        inst.set_answer("Tiger", attribute=text_attr)
    inst.set_answer("Tiger", attribute=text_attr, overwrite=True)
    assert inst.get_answer(text_attr) == "Tiger"
    with pytest.raises(AnswerError, match="text attribute"):
        inst.set_answer(3, attribute=text_attr, overwrite=True)
    with pytest.raises(AnswerError, match="not dynamic"):
        inst.set_answer("x", attribute=text_attr, frames=0, overwrite=True)


def test_answer_from_other_item_refused(ontology: OntologyStructure) -> None:
    inst = _obj(ontology, "Box").create_instance()
    mood = _obj(ontology, "Nested Box").attributes[1]
    with pytest.raises(AnswerError):
        inst.set_answer([mood.options[0]], attribute=mood)


def test_nested_radio_needs_parent_option(ontology: OntologyStructure) -> None:
    polygon = _obj(ontology, "Deeply Nested Polygon")
    level1 = polygon.attributes[0]
    assert isinstance(level1, RadioAttribute)
    option1, option2 = level1.options
    assert isinstance(option2, NestableOption)
    nested_radio = option2.nested_options[0]
    inst = polygon.create_instance()
    with pytest.raises(AnswerError, match="answer 'Radio level 1 '"):
        inst.set_answer(nested_radio.options[0], attribute=nested_radio)
    inst.set_answer(option2, attribute=level1)
    inst.set_answer(nested_radio.options[1])  # attribute inferred from the option
    assert inst.get_answer(nested_radio) is nested_radio.options[1]
    # Choosing another parent option drops the now unreachable nested answer.
    inst.set_answer(option1, attribute=level1, overwrite=True)
    assert inst.get_answer(nested_radio) is None
    with pytest.raises(AnswerError, match="radio attribute"):
        inst.set_answer(nested_radio.options[0], attribute=level1, overwrite=True)


def test_dynamic_answers_per_frame() -> None:
    dyn = NumericAttribute([1, 1], "dynhash1", "Speed", dynamic=True)
    flag = ChecklistAttribute(
        [1, 2],
        "dynhash2",
        "Flags",
        dynamic=True,
        options=[FlatOption("fl1", [1, 2, 1], "Blurred")],
    )
    car = Object(1, "carhash1", "Car", "#FF0000", Shape.BOUNDING_BOX, attributes=[dyn, flag])
    inst = car.create_instance()
    with pytest.raises(AnswerError, match="needs frames"):
        inst.set_answer(1.0, attribute=dyn)
    inst.set_for_frames(BOX, frames=Range(0, 5))
    inst.set_answer(10, attribute=dyn, frames=Range(0, 2))
    inst.set_answer(20.5, attribute=dyn, frames=[3, 4])
    inst.set_answer([flag.options[0]], attribute=flag)  # all placed frames
    found = inst.get_answer(dyn)
    assert isinstance(found, list)
    assert [(a.answer, a.ranges) for a in found] == [
        (10.0, [Range(0, 2)]),
        (20.5, [Range(3, 4)]),
    ]
    at_four = inst.get_answer(dyn, filter_frame=4)
    assert isinstance(at_four, list) and [a.answer for a in at_four] == [20.5]
    flags = inst.get_answer(flag)
    assert isinstance(flags, list) and flags[0].ranges == [Range(0, 5)]
    with pytest.raises(LabelRowError):
        inst.set_answer(30, attribute=dyn, frames=4)
    inst.remove_from_frames(4)
    remaining = inst.get_answer(dyn)
    assert isinstance(remaining, list) and remaining[1].ranges == [Range(3, 3)]


def test_audio_object_takes_ranges(ontology: OntologyStructure) -> None:
    inst = _obj(ontology, "audio 1").create_instance()
    coords = AudioCoordinates(range=[Range(100, 1500)])
    inst.set_for_frames(coords, confidence=0.4)
    only = inst.get_annotations()
    assert len(only) == 1 and only[0].coordinates == coords and only[0].confidence == 0.4
    with pytest.raises(CoordinatesError):
        inst.set_for_frames(BOX, overwrite=True)
