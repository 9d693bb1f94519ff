"""Encord label-row files: reading, located validation errors, remapping onto project units."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import ImportFormatError
from predscope.formats.encord import (
    EncordRowSource,
    count_labels,
    parse_label_rows,
    prepare_row,
    read_label_row_file,
    read_label_row_files,
    row_hashes,
    write_label_rows,
)
from predscope.objects.label_row_metadata import ImageInfo, LabelRowMetadata
from predscope.objects.ontology_structure import OntologyStructure

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


@pytest.fixture(scope="module")
def native() -> dict[str, Any]:
    return load("label_row_native_image.json")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def group() -> dict[str, Any]:
    return load("label_row_image_group.json")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def all_types() -> OntologyStructure:
    return OntologyStructure.from_dict(load("ontology_all_types_dict.json"))


@pytest.fixture(scope="module")
def group_ontology() -> OntologyStructure:
    return OntologyStructure.from_dict(load("ontology_image_group.json"))


def native_meta(**kw: Any) -> LabelRowMetadata:
    base: dict[str, Any] = dict(
        data_hash="unit-1", data_title="rousseau_2.jpg", data_type="image", width=1200, height=924
    )
    base.update(kw)
    return LabelRowMetadata(**base)


def group_meta(group: dict[str, Any]) -> LabelRowMetadata:
    units = sorted(group["data_units"].values(), key=lambda u: int(u["data_sequence"]))
    images = tuple(
        ImageInfo(image_hash=f"img-{i}", title=u["data_title"], width=952, height=678)
        for i, u in enumerate(units)
    )
    return LabelRowMetadata(
        data_hash="group-1",
        data_title="image-group-8375e",
        data_type="img_group",
        width=952,
        height=678,
        number_of_frames=5,
        images=images,
    )


def src(row: dict[str, Any], index: int = 0, source: str = "rows.json") -> EncordRowSource:
    return EncordRowSource(source, index, row)


# -- reading ---------------------------------------------------------------------------------


def test_single_row_and_list_files_read(tmp_path: Path, native: dict[str, Any]) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(native))
    many = tmp_path / "many.json"
    many.write_text(json.dumps([native, native]))
    rows = read_label_row_files([one, many])
    assert [(Path(r.source).name, r.index) for r in rows] == [
        ("one.json", 0),
        ("many.json", 0),
        ("many.json", 1),
    ]
    assert rows[2].data_title == "rousseau_2.jpg"


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[\n  {"data_units": {}},\n  {"data_units": }\n]')
    with pytest.raises(ImportFormatError) as info:
        read_label_row_file(bad)
    message = str(info.value)
    assert str(bad) in message
    assert "line 3, column 18" in message
    assert "malformed JSON" in message


def test_non_row_items_are_refused() -> None:
    with pytest.raises(ImportFormatError, match=r"x.json:row 1: not an Encord label row"):
        parse_label_rows('[{"data_units": {}}, {"objects": []}]', "x.json")
    with pytest.raises(ImportFormatError, match="got a int"):
        parse_label_rows("[3]", "x.json")


def test_missing_file_is_an_import_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="cannot read the file"):
        read_label_row_file(tmp_path / "nope.json")


def test_write_then_read_gives_the_same_rows(native: dict[str, Any], group: dict[str, Any]) -> None:
    buffer = io.StringIO()
    write_label_rows([native, group], buffer)
    rows = parse_label_rows(buffer.getvalue(), "out.json")
    assert [r.data for r in rows] == [native, group]


def test_row_hashes_include_top_level_and_unit_keys(native: dict[str, Any]) -> None:
    assert row_hashes(native) == [
        "aaa6bc82-9f89-4545-adbb-f271bf28cf99",
        "649aba74-365b-45fa-a375-3036ee0eda78",
    ]


# -- preparing valid rows ----------------------------------------------------------------------


def test_native_row_moves_onto_the_project_unit(
    native: dict[str, Any], all_types: OntologyStructure
) -> None:
    out = prepare_row(src(native), all_types, native_meta(), "preds")
    assert out["data_hash"] == "unit-1"
    assert list(out["data_units"]) == ["unit-1"]
    unit = out["data_units"]["unit-1"]
    assert unit["data_hash"] == "unit-1"
    assert (unit["width"], unit["height"]) == (1200, 924)
    assert out["branch_name"] == "preds"
    assert out["label_hash"] is None
    assert count_labels(out) == (3, 3)
    # labels and answers are carried over untouched, and the source is not mutated
    old_unit = next(iter(native["data_units"].values()))
    assert unit["labels"] == old_unit["labels"]
    assert out["object_answers"] == native["object_answers"]
    assert native["data_hash"] == "aaa6bc82-9f89-4545-adbb-f271bf28cf99"


def test_image_group_units_match_images_by_title(
    group: dict[str, Any], group_ontology: OntologyStructure
) -> None:
    meta = group_meta(group)
    out = prepare_row(src(group), group_ontology, meta, "main")
    assert sorted(out["data_units"]) == [f"img-{i}" for i in range(5)]
    for i in range(5):
        unit = out["data_units"][f"img-{i}"]
        assert unit["data_sequence"] == str(i)
        assert unit["data_title"] == meta.images[i].title
    cars = [
        int(u["data_sequence"])
        for u in out["data_units"].values()
        for o in u["labels"]["objects"]
        if o["objectHash"] == "ApGxvBOz"
    ]
    assert sorted(cars) == [0, 1, 2]
    assert count_labels(out) == (2, 3)


# -- every kind of bad record, with its location ---------------------------------------------


def first_object(row: dict[str, Any]) -> dict[str, Any]:
    return next(iter(row["data_units"].values()))["labels"]["objects"][0]  # type: ignore[no-any-return]


def mutate_unknown_feature(row: dict[str, Any]) -> None:
    first_object(row)["featureHash"] = "NOPE1234"


def mutate_wrong_shape(row: dict[str, Any]) -> None:
    obj = first_object(row)
    obj["featureHash"] = "ODkxMzAx"  # the "Polygon" object, but the entry holds a box
    obj.pop("shape")


def mutate_shape_string(row: dict[str, Any]) -> None:
    first_object(row)["shape"] = "polygon"


def mutate_bad_coordinates(row: dict[str, Any]) -> None:
    first_object(row)["boundingBox"]["h"] = 1.5


def mutate_missing_coordinate(row: dict[str, Any]) -> None:
    del first_object(row)["boundingBox"]["w"]


def mutate_bad_confidence(row: dict[str, Any]) -> None:
    first_object(row)["confidence"] = "high"


def mutate_unknown_attribute(row: dict[str, Any]) -> None:
    row["object_answers"]["saG3qh6C"]["classifications"][0]["featureHash"] = "zzzzzzzz"


def mutate_unknown_option(row: dict[str, Any]) -> None:
    answer = row["object_answers"]["saG3qh6C"]["classifications"][0]
    answer["answers"][0]["featureHash"] = "notAnOpt"


def mutate_text_answer(row: dict[str, Any]) -> None:
    row["object_answers"]["saG3qh6C"]["classifications"][1]["answers"] = 7


def mutate_classification_feature(row: dict[str, Any]) -> None:
    row["classification_answers"]["HVwOV4hB"]["featureHash"] = "MjI2NzEy"  # an object's hash


def mutate_classification_range(row: dict[str, Any]) -> None:
    row["classification_answers"]["HVwOV4hB"]["range"] = [[0, 3]]


def mutate_orphan_frame_classification(row: dict[str, Any]) -> None:
    del row["classification_answers"]["37vDK5u0"]


def mutate_data_type(row: dict[str, Any]) -> None:
    row["data_type"] = "video"


def mutate_two_units(row: dict[str, Any]) -> None:
    (unit,) = row["data_units"].values()
    row["data_units"]["other"] = copy.deepcopy(unit)


def mutate_dynamic_static(row: dict[str, Any]) -> None:
    answer = copy.deepcopy(row["object_answers"]["saG3qh6C"]["classifications"][1])
    answer.update(dynamic=True, range=[[0, 0]], shouldPropagate=False)
    row["object_actions"] = {"saG3qh6C": {"objectHash": "saG3qh6C", "actions": [answer]}}


BAD_NATIVE = [
    (mutate_unknown_feature, "unknown feature hash 'NOPE1234'", "object saG3qh6C, featureHash"),
    (mutate_wrong_shape, "wrong shape for ontology object 'Polygon'", "object saG3qh6C"),
    (mutate_shape_string, "wrong shape 'polygon'", "object saG3qh6C, shape"),
    (mutate_bad_coordinates, "malformed coordinates", "object saG3qh6C, boundingBox"),
    (mutate_missing_coordinate, "malformed coordinates", "object saG3qh6C, boundingBox"),
    (mutate_bad_confidence, "confidence must be a finite number", "object saG3qh6C, confidence"),
    (mutate_unknown_attribute, "unknown attribute feature hash 'zzzzzzzz'", "object saG3qh6C"),
    (mutate_unknown_option, "unknown option 'notAnOpt'", "object saG3qh6C, answer 0"),
    (mutate_text_answer, "text attribute 'First name' needs a string", "answer 1"),
    (mutate_classification_feature, "not a classification", "classification HVwOV4hB"),
    (mutate_classification_range, "range [0, 3] is outside the data unit", "HVwOV4hB, range"),
    (mutate_orphan_frame_classification, "no entry in classification_answers", "classifications"),
    (mutate_data_type, "data_type 'video' does not match", "data_type"),
    (mutate_two_units, "exactly one data unit", "data_units"),
    (mutate_dynamic_static, "is not dynamic", "object_actions, object saG3qh6C"),
]


@pytest.mark.parametrize(("mutate", "problem", "where"), BAD_NATIVE)
def test_bad_native_records_are_located(
    native: dict[str, Any], all_types: OntologyStructure, mutate: Any, problem: str, where: str
) -> None:
    row = copy.deepcopy(native)
    mutate(row)
    with pytest.raises(ImportFormatError) as info:
        prepare_row(src(row, index=4, source="preds.json"), all_types, native_meta(), "main")
    message = str(info.value)
    assert message.startswith("preds.json:row 4 ('rousseau_2.jpg')"), message
    assert problem in message, message
    assert where in message, message
    assert info.value.source == "preds.json"


def test_unknown_image_in_group_is_refused(
    group: dict[str, Any], group_ontology: OntologyStructure
) -> None:
    row = copy.deepcopy(group)
    key = next(iter(row["data_units"]))
    row["data_units"][key]["data_title"] = "not-in-project.png"
    with pytest.raises(ImportFormatError) as info:
        prepare_row(src(row), group_ontology, group_meta(group), "main")
    assert "unknown data unit" in str(info.value)
    assert f"data_units[{key}]" in str(info.value)


def test_object_hash_with_slash_is_located(
    group: dict[str, Any], group_ontology: OntologyStructure
) -> None:
    row = copy.deepcopy(group)
    for unit in row["data_units"].values():
        for obj in unit["labels"]["objects"]:
            if obj["objectHash"] == "85cl/EVa":
                obj["polygons"] = [[[0.1, 0.1, 0.2, 0.2]]]  # a two-point ring
    with pytest.raises(ImportFormatError) as info:
        prepare_row(src(row), group_ontology, group_meta(group), "main")
    assert "object 85cl/EVa, polygons" in str(info.value)


def video_meta(frames: int) -> LabelRowMetadata:
    return LabelRowMetadata(
        data_hash="vid",
        data_title="clip.mp4",
        data_type="video",
        width=64,
        height=48,
        number_of_frames=frames,
    )


def video_row(frame_keys: list[str]) -> dict[str, Any]:
    box = {"h": 0.5, "w": 0.5, "x": 0.1, "y": 0.1}
    labels = {
        key: {
            "objects": [
                {
                    "objectHash": "track001",
                    "featureHash": "MjI2NzEy",
                    "name": "Box",
                    "shape": "bounding_box",
                    "confidence": 0.5,
                    "manualAnnotation": False,
                    "boundingBox": box,
                }
            ],
            "classifications": [],
        }
        for key in frame_keys
    }
    return {
        "data_hash": "elsewhere",
        "data_title": "clip.mp4",
        "data_type": "video",
        "data_units": {
            "elsewhere": {
                "data_hash": "elsewhere",
                "data_title": "clip.mp4",
                "data_type": "video/mp4",
                "data_sequence": 0,
                "labels": labels,
            }
        },
        "object_answers": {"track001": {"objectHash": "track001", "classifications": []}},
        "classification_answers": {},
        "object_actions": {},
    }


def test_video_frames_inside_and_outside(all_types: OntologyStructure) -> None:
    out = prepare_row(src(video_row(["0", "4"])), all_types, video_meta(5), "main")
    assert sorted(out["data_units"]["vid"]["labels"]) == ["0", "4"]
    assert count_labels(out) == (1, 0)
    with pytest.raises(ImportFormatError, match=r"frame 5 is outside the video \(frames 0..4\)"):
        prepare_row(src(video_row(["0", "5"])), all_types, video_meta(5), "main")
    with pytest.raises(ImportFormatError, match="is not a frame number"):
        prepare_row(src(video_row(["x"])), all_types, video_meta(5), "main")


def test_audio_range_object_checked_against_duration(all_types: OntologyStructure) -> None:
    meta = LabelRowMetadata(data_hash="a", data_title="a.wav", data_type="audio", duration=2.0)
    row: dict[str, Any] = {
        "data_type": "audio",
        "data_units": {"a": {"data_hash": "a", "labels": {}}},
        "object_answers": {
            "aud00001": {
                "objectHash": "aud00001",
                "featureHash": "9dt+r+op",
                "name": "audio 1",
                "shape": "audio",
                "range": [[100, 1999]],
                "classifications": [],
            }
        },
        "classification_answers": {},
        "object_actions": {},
    }
    out = prepare_row(src(row), all_types, meta, "main")
    assert count_labels(out) == (1, 0)
    row["object_answers"]["aud00001"]["range"] = [[100, 2500]]
    with pytest.raises(ImportFormatError, match=r"range \[100, 2500\] is outside"):
        prepare_row(src(row), all_types, meta, "main")
    row["object_answers"]["aud00001"]["featureHash"] = "MjI2NzEy"  # a box object
    row["object_answers"]["aud00001"]["range"] = [[0, 10]]
    with pytest.raises(ImportFormatError, match="needs per-frame entries"):
        prepare_row(src(row), all_types, meta, "main")
