"""LabelRowV2 <-> Encord label-row JSON: fixture round trips and both classification forms."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predscope.exceptions import LabelRowError, OntologyError
from predscope.objects.attributes import NumericAttribute
from predscope.objects.common import Shape
from predscope.objects.coordinates import (
    AudioCoordinates,
    BoundingBoxCoordinates,
    PolygonCoordinates,
)
from predscope.objects.frames import Range
from predscope.objects.label_row import LabelRowV2
from predscope.objects.label_row_metadata import LabelRowMetadata
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.objects.options import Option

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"
FIXTURES = [
    ("label_row_native_image.json", "ontology_all_types_dict.json"),
    ("label_row_image_group.json", "ontology_image_group.json"),
]
# Keys the writer adds to old-form classification_answers entries (the current range form).
RANGE_FORM_KEYS = {
    "range",
    "createdAt",
    "createdBy",
    "lastEditedAt",
    "lastEditedBy",
    "confidence",
    "manualAnnotation",
}


def _json(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())  # type: ignore[no-any-return]


def _row(label_file: str, ontology_file: str) -> tuple[dict[str, Any], LabelRowV2]:
    raw = _json(label_file)
    ontology = OntologyStructure.from_dict(_json(ontology_file))
    return raw, LabelRowV2.from_labels_dict(copy.deepcopy(raw), ontology)


@pytest.mark.parametrize(("label_file", "ontology_file"), FIXTURES)
def test_fixture_round_trips_field_by_field(label_file: str, ontology_file: str) -> None:
    raw, row = _row(label_file, ontology_file)
    out = row.to_encord_dict()
    assert set(out) == set(raw)
    for key in raw:
        if key != "classification_answers":
            assert out[key] == raw[key], key
    assert set(out["classification_answers"]) == set(raw["classification_answers"])
    for key, entry in raw["classification_answers"].items():
        written = out["classification_answers"][key]
        assert set(written) - set(entry) <= RANGE_FORM_KEYS
        assert {k: written[k] for k in entry} == entry
    # Reading our own output gives the same output again (fixed point).
    again = LabelRowV2.from_labels_dict(out, row.ontology_structure).to_encord_dict()
    assert again == out


def test_native_image_facts() -> None:
    _, row = _row(*FIXTURES[0])
    objects = row.get_object_instances()
    assert [o.object_name for o in objects] == ["Nested Box", "Nested Box", "Deeply Nested Polygon"]
    classifications = row.get_classification_instances()
    assert len(classifications) == 3
    assert all(c.range_list == [Range(0, 0)] for c in classifications)
    assert row.data_hash == "aaa6bc82-9f89-4545-adbb-f271bf28cf99"
    unit_key = next(iter(row.to_encord_dict()["data_units"]))
    assert unit_key == "649aba74-365b-45fa-a375-3036ee0eda78" != row.data_hash
    box = objects[0]
    mood = box.ontology_item.attributes[1]
    assert [o.label for o in box.get_answer(mood)] == ["Sad"]  # type: ignore[union-attr]
    assert box.get_answer(box.ontology_item.attributes[0]) == "Lion"
    annotation = box.get_annotation(0)
    assert annotation.coordinates == BoundingBoxCoordinates(0.1561, 0.0856, 0.6212, 0.4114)
    assert annotation.created_by == "denis@cord.tech"
    assert annotation.created_at is not None and annotation.created_at.year == 2023
    polygon = objects[2].get_annotation(0).coordinates
    assert isinstance(polygon, PolygonCoordinates) and len(polygon.values) == 19
    radio = classifications[0]
    answer = radio.get_answer()
    assert isinstance(answer, Option) and answer.value == "cl_1_option_2"
    assert row.width == 1200 and row.height == 924 and row.number_of_frames == 1


def test_image_group_facts() -> None:
    _, row = _row(*FIXTURES[1])
    objects = {o.object_name: o for o in row.get_object_instances()}
    assert set(objects) == {"Cars", "Car segmentation"}
    assert [a.frame for a in objects["Cars"].get_annotations()] == [0, 1, 2]
    assert [a.frame for a in objects["Car segmentation"].get_annotations()] == [0]
    assert objects["Car segmentation"].object_hash == "85cl/EVa"
    assert objects["Cars"].get_annotation(1).is_deleted is False
    assert objects["Cars"].get_annotation(1).reviews == []
    classifications = row.get_classification_instances()
    assert [c.range_list for c in classifications] == [[Range(0, 0)], [Range(1, 1)], [Range(2, 4)]]
    assert row.number_of_frames == 5
    assert len(row.get_object_instances(filter_frames=2)) == 1
    cars = row.ontology_structure.get_child_by_title("Cars")
    assert len(row.get_object_instances(filter_ontology_object=cars)) == 1


def test_current_form_classifications_are_read() -> None:
    raw, row = _row(*FIXTURES[1])
    current = row.to_encord_dict()
    for unit in current["data_units"].values():
        unit["labels"]["classifications"] = []  # what SDK >= 0.1.205 writes
    again = LabelRowV2.from_labels_dict(current, row.ontology_structure)
    assert [c.range_list for c in again.get_classification_instances()] == [
        [Range(0, 0)],
        [Range(1, 1)],
        [Range(2, 4)],
    ]
    out = again.to_encord_dict()
    frame3 = next(u for u in out["data_units"].values() if u["data_sequence"] == "3")
    assert [c["classificationHash"] for c in frame3["labels"]["classifications"]] == ["TyZQ6kOO"]
    assert frame3["labels"]["classifications"][0]["createdAt"] == "Tue, 06 Dec 2022 10:45:51 UTC"


def test_legacy_polygon_only_gains_polygons() -> None:
    raw = _json(FIXTURES[1][0])
    unit = next(iter(raw["data_units"].values()))
    polygon_entry = unit["labels"]["objects"][1]
    del polygon_entry["polygons"]
    row = LabelRowV2.from_labels_dict(raw, OntologyStructure.from_dict(_json(FIXTURES[1][1])))
    written = next(iter(row.to_encord_dict()["data_units"].values()))["labels"]["objects"][1]
    assert written["polygon"] == polygon_entry["polygon"]
    assert len(written["polygons"][0][0]) == 2 * len(polygon_entry["polygon"])


def test_unknown_keys_are_kept() -> None:
    raw = _json(FIXTURES[0][0])
    raw["custom_row_key"] = {"a": 1}
    unit = next(iter(raw["data_units"].values()))
    unit["labels"]["objects"][0]["trackerScore"] = 0.5
    unit["labels"]["custom_frame_key"] = "kept"
    raw["object_answers"]["saG3qh6C"]["objectNumber"] = 4
    raw["object_answers"]["ghost123"] = {"objectHash": "ghost123", "classifications": []}
    raw["classification_answers"]["HVwOV4hB"]["spaces"] = {"s": 1}
    row = LabelRowV2.from_labels_dict(raw, OntologyStructure.from_dict(_json(FIXTURES[0][1])))
    out = row.to_encord_dict()
    out_unit = next(iter(out["data_units"].values()))
    assert out["custom_row_key"] == {"a": 1}
    assert out_unit["labels"]["objects"][0]["trackerScore"] == 0.5
    assert out_unit["labels"]["custom_frame_key"] == "kept"
    assert out["object_answers"]["saG3qh6C"]["objectNumber"] == 4
    assert out["object_answers"]["ghost123"] == raw["object_answers"]["ghost123"]
    assert out["classification_answers"]["HVwOV4hB"]["spaces"] == {"s": 1}


def test_unknown_feature_hash_is_located() -> None:
    raw = _json(FIXTURES[0][0])
    next(iter(raw["data_units"].values()))["labels"]["objects"][0]["featureHash"] = "zzz"
    with pytest.raises(OntologyError, match=r"objects\[0\].*zzz"):
        LabelRowV2.from_labels_dict(raw, OntologyStructure.from_dict(_json(FIXTURES[0][1])))


def _video_ontology() -> OntologyStructure:
    speed = NumericAttribute([1, 1], "speedhsh", "Speed", dynamic=True)
    car = Object(1, "carhash1", "Car", "#FF0000", Shape.BOUNDING_BOX, attributes=[speed])
    audio = Object(2, "audiohsh", "Bark", "#00FF00", Shape.AUDIO)
    return OntologyStructure([car, audio])


def test_new_video_row_written_and_read_back() -> None:
    ontology = _video_ontology()
    md = LabelRowMetadata(
        data_hash="vid",
        data_title="clip.mp4",
        data_type="video",
        mime_type="video/mp4",
        number_of_frames=100,
        frames_per_second=25.0,
        duration=4.0,
        width=640,
        height=480,
        branch_name="preds",
    )
    row = LabelRowV2(md, ontology)
    with pytest.raises(LabelRowError, match="initialise"):
        row.get_object_instances()
    row._load_labels(None)
    car, _ = ontology.objects
    inst = car.create_instance()
    inst.set_for_frames(
        BoundingBoxCoordinates(0.1, 0.1, 0.2, 0.2),
        frames=Range(3, 5),
        confidence=0.75,
        manual_annotation=False,
    )
    inst.set_answer(12, attribute=car.attributes[0], frames=Range(3, 4))
    row.add_object_instance(inst)
    out = row.to_encord_dict()
    unit = out["data_units"]["vid"]
    assert unit["data_fps"] == 25.0 and unit["data_type"] == "video/mp4"
    assert sorted(unit["labels"]) == ["3", "4", "5"]
    entry = unit["labels"]["4"]["objects"][0]
    assert entry["confidence"] == 0.75 and entry["manualAnnotation"] is False
    assert entry["createdBy"] is None and entry["value"] == "car"
    action = out["object_actions"][inst.object_hash]["actions"][0]
    assert action["range"] == [[3, 4]] and action["dynamic"] is True and action["answers"] == 12
    assert out["branch_name"] == "preds"
    back = LabelRowV2.from_labels_dict(out, ontology, metadata=md)
    read = back.get_object_instances()[0]
    assert [a.frame for a in read.get_annotations()] == [3, 4, 5]
    speeds = read.get_answer(car.attributes[0])
    assert isinstance(speeds, list) and speeds[0].ranges == [Range(3, 4)]
    assert back.to_encord_dict() == out


def test_audio_object_lives_in_object_answers_with_confidence() -> None:
    ontology = _video_ontology()
    md = LabelRowMetadata(
        data_hash="aud", data_type="audio", mime_type="audio/mpeg", audio_codec="mp3", duration=9.5
    )
    row = LabelRowV2(md, ontology)
    row._load_labels(None)
    bark = ontology.objects[1].create_instance()
    bark.set_for_frames(AudioCoordinates(range=[Range(100, 900)]), confidence=0.3)
    row.add_object_instance(bark)
    out = row.to_encord_dict()
    assert out["data_units"]["aud"]["labels"] == {}
    entry = out["object_answers"][bark.object_hash]
    assert entry["range"] == [[100, 900]] and entry["confidence"] == 0.3
    assert entry["shape"] == "audio"
    back = LabelRowV2.from_labels_dict(out, ontology, metadata=md)
    coords = back.get_object_instances()[0].get_annotation(0).coordinates
    assert coords == AudioCoordinates(range=[Range(100, 900)])
    assert back.to_encord_dict() == out


@pytest.mark.parametrize("count", [10_000])
def test_many_boxes_encode(count: int) -> None:
    ontology = _video_ontology()
    row = LabelRowV2(LabelRowMetadata(data_hash="img", data_type="image"), ontology)
    row._load_labels(None)
    car = ontology.objects[0]
    for i in range(count):
        inst = car.create_instance()
        inst.set_for_frames(
            BoundingBoxCoordinates(0.1, 0.1, 0.5, 0.5),
            frames=0,
            confidence=i / count,
            manual_annotation=False,
        )
        row.add_object_instance(inst)
    out = row.to_encord_dict()
    entries = out["data_units"]["img"]["labels"]["objects"]
    assert len(entries) == count == len(out["object_answers"])
    assert len({e["objectHash"] for e in entries}) == count
    assert entries[-1]["confidence"] == (count - 1) / count


def test_labels_without_a_data_unit_are_refused() -> None:
    ontology = _video_ontology()
    row = LabelRowV2(LabelRowMetadata(data_hash="g", data_type="img_group"), ontology)
    row._load_labels(None)
    inst = ontology.objects[0].create_instance()
    inst.set_for_frames(BoundingBoxCoordinates(0.1, 0.1, 0.2, 0.2), frames=1)
    row.add_object_instance(inst)
    with pytest.raises(LabelRowError, match="no data unit"):
        row.to_encord_dict()


def test_audio_classification_ranges_stay_ranges() -> None:
    from predscope.objects.attributes import TextAttribute
    from predscope.objects.classification import Classification

    note = Classification(1, "notehash", [TextAttribute([1, 1], "notetext", "Note")])
    ontology = OntologyStructure([], [note])
    md = LabelRowMetadata(data_hash="aud", data_type="audio", duration=600.0)
    row = LabelRowV2(md, ontology)
    row._load_labels(None)
    first = note.create_instance()
    first.set_ranges([Range(0, 599_999)], confidence=0.6)
    first.set_answer("speech")
    row.add_classification_instance(first)
    clash = note.create_instance()
    clash.set_ranges([Range(500_000, 700_000)])
    with pytest.raises(LabelRowError, match="500000"):
        row.add_classification_instance(clash)
    later = note.create_instance()
    later.set_ranges([Range(600_000, 610_000)])
    row.add_classification_instance(later)
    out = row.to_encord_dict()
    assert out["classification_answers"][first.classification_hash]["range"] == [[0, 599_999]]
    back = LabelRowV2.from_labels_dict(out, ontology, metadata=md)
    read = {c.classification_hash: c for c in back.get_classification_instances()}
    assert read[first.classification_hash].range_list == [Range(0, 599_999)]
    assert len(read[first.classification_hash].get_annotations()) == 1
    assert read[first.classification_hash].get_answer() == "speech"
    assert back.to_encord_dict() == out


@settings(max_examples=40, deadline=None)
@given(
    boxes=st.lists(
        st.tuples(
            st.integers(0, 49),
            st.floats(0, 1, allow_nan=False),
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
            st.booleans(),
        ),
        max_size=20,
    )
)
def test_video_rows_survive_json_round_trip(boxes: list[tuple[int, float, float, bool]]) -> None:
    ontology = _video_ontology()
    md = LabelRowMetadata(data_hash="v", data_type="video", number_of_frames=50)
    row = LabelRowV2(md, ontology)
    row._load_labels(None)
    car = ontology.objects[0]
    for frame, x, confidence, manual in boxes:
        inst = car.create_instance()
        inst.set_for_frames(
            BoundingBoxCoordinates(0.5, 0.5, x, 1 - x),
            frames=frame,
            confidence=confidence,
            manual_annotation=manual,
        )
        row.add_object_instance(inst)
    out = row.to_encord_dict()
    wire = json.loads(json.dumps(out))
    back = LabelRowV2.from_labels_dict(wire, ontology, metadata=md)
    assert back.to_encord_dict() == out
    got = {
        o.object_hash: (o.get_annotations()[0].frame, o.get_annotations()[0].confidence)
        for o in back.get_object_instances()
    }
    want = {
        o.object_hash: (o.get_annotations()[0].frame, o.get_annotations()[0].confidence)
        for o in row.get_object_instances()
    }
    assert got == want
