"""Encord import/export through a real store: round trips, one transaction, dry runs, branches."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from predscope.exceptions import BranchHasLabelsError, BranchNameError, ImportFormatError
from predscope.objects.coordinates import (
    AudioCoordinates,
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
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.exports.encord import export_encord, write_encord_export
from predscope.services.exports.listing import verify_listing
from predscope.services.imports.encord import import_encord
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord
from predscope.store.schema import metadata

DATA = Path(__file__).resolve().parents[3] / "data" / "encord-label-rows"
NATIVE = DATA / "label_row_native_image.json"
GROUP = DATA / "label_row_image_group.json"
IDENTITY = {"label_hash", "data_hash", "created_at", "last_edited_at", "dataset_hash"}
IDENTITY |= {"dataset_title"}


def load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    st = open_store(store_url)
    yield st
    st.close()


def native_project(store: Store, title: str = "native") -> ProjectRecord:
    project = create_project(store, title, DATA / "ontology_all_types_dict.json")
    add_data(store, project, [{"title": "rousseau_2.jpg", "width": 1200, "height": 924}])
    return project


def group_project(store: Store, title: str = "group") -> ProjectRecord:
    project = create_project(store, title, DATA / "ontology_image_group.json")
    units = sorted(load(GROUP)["data_units"].values(), key=lambda u: int(u["data_sequence"]))
    images = [{"title": u["data_title"], "width": 952, "height": 678} for u in units]
    add_data(store, project, [{"title": "image-group-8375e", "images": images}])
    return project


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.read() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
            for t in metadata.sorted_tables
        }


def units_by_title(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["data_title"]: u for u in row["data_units"].values()}


def assert_same_row(fixture: dict[str, Any], exported: dict[str, Any]) -> None:
    """Field by field; the only differences allowed are the store's identity and the
    classification ``range`` form (with its metadata) added to old-form rows."""
    assert set(exported) >= set(fixture)
    for key, value in fixture.items():
        if key in IDENTITY or key in ("data_units", "classification_answers"):
            continue
        assert exported[key] == value, key
    fixture_units, exported_units = units_by_title(fixture), units_by_title(exported)
    assert fixture_units.keys() == exported_units.keys()
    for title, unit in fixture_units.items():
        for key, value in unit.items():
            if key != "data_hash":
                assert exported_units[title][key] == value, (title, key)
    assert exported["classification_answers"].keys() == fixture["classification_answers"].keys()
    for chash, entry in fixture["classification_answers"].items():
        out = exported["classification_answers"][chash]
        for key, value in entry.items():
            assert out[key] == value, (chash, key)
        assert "range" in out


def test_native_fixture_round_trips_field_by_field(store: Store) -> None:
    project = native_project(store)
    report = import_encord(store, project, [NATIVE], ImportOptions(branch_in_rows=True))
    assert report.branches == {
        "main": {"rows": 1, "objects": 3, "classifications": 3, "replaced": 0}
    }
    (exported,) = export_encord(store, project, branch_name="main")
    fixture = load(NATIVE)
    assert_same_row(fixture, exported)
    assert exported["label_status"] == "LABEL_IN_PROGRESS"
    ranges = {h: e["range"] for h, e in exported["classification_answers"].items()}
    assert ranges == {"3AqiIPrF": [[0, 0]], "HVwOV4hB": [[0, 0]], "37vDK5u0": [[0, 0]]}


def test_image_group_fixture_round_trips_field_by_field(store: Store) -> None:
    project = group_project(store)
    report = import_encord(store, project, [GROUP], ImportOptions(branch_in_rows=True))
    assert (report.label_rows[0].objects, report.label_rows[0].classifications) == (2, 3)
    (exported,) = export_encord(store, project)
    fixture = load(GROUP)
    assert_same_row(fixture, exported)
    frames = sorted(
        int(u["data_sequence"])
        for u in exported["data_units"].values()
        for o in u["labels"]["objects"]
        if o["objectHash"] == "ApGxvBOz"
    )
    assert frames == [0, 1, 2]
    assert "85cl/EVa" in exported["object_answers"]
    ranges = {h: e["range"] for h, e in exported["classification_answers"].items()}
    assert ranges == {"LzoUFePR": [[0, 0]], "mBR5wa0v": [[1, 1]], "TyZQ6kOO": [[2, 4]]}


def test_export_reimports_identically(store: Store, tmp_path: Path) -> None:
    first = group_project(store, "first")
    import_encord(store, first, [GROUP], ImportOptions(branch_in_rows=True))
    out = tmp_path / "export.json"
    assert write_encord_export(store, first, out, branch_name="main") == 1
    second = group_project(store, "second")
    import_encord(store, second, [out], ImportOptions(branch="copy", branch_in_rows=True))
    (a,) = load(out)
    (b,) = export_encord(store, second, branch_name="copy")
    assert b["branch_name"] == "copy"
    for key in set(a) | set(b):
        if key not in IDENTITY | {"data_units", "branch_name"}:
            assert a[key] == b[key], key
    ua, ub = units_by_title(a), units_by_title(b)
    for title in ua:
        assert {k: v for k, v in ua[title].items() if k != "data_hash"} == {
            k: v for k, v in ub[title].items() if k != "data_hash"
        }


def test_bad_record_aborts_the_whole_import(store: Store, tmp_path: Path) -> None:
    project = native_project(store)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(load(NATIVE)))
    bad_row = load(NATIVE)
    unit = next(iter(bad_row["data_units"].values()))
    unit["labels"]["objects"][1]["featureHash"] = "NOPE1234"
    bad_row["branch_name"] = "preds"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([bad_row]))
    before = dump(store)
    with pytest.raises(ImportFormatError) as info:
        import_encord(store, project, [good, bad], ImportOptions(branch_in_rows=True))
    message = str(info.value)
    assert str(bad) in message
    assert "row 0 ('rousseau_2.jpg')" in message
    assert "object 2c1Uso5b, featureHash" in message
    assert dump(store) == before


def test_dry_run_reports_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    project = native_project(store)
    row = load(NATIVE)
    other = copy.deepcopy(row)
    other["branch_name"] = "model-a"
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([row, other]))
    before = dump(store)
    report = import_encord(store, project, [path], ImportOptions(dry_run=True, branch_in_rows=True))
    assert report.dry_run
    assert report.branches == {
        "main": {"rows": 1, "objects": 3, "classifications": 3, "replaced": 0},
        "model-a": {"rows": 1, "objects": 3, "classifications": 3, "replaced": 0},
    }
    assert dump(store) == before


def test_branch_option_then_row_branch_then_main(store: Store, tmp_path: Path) -> None:
    project = native_project(store)
    row = load(NATIVE)
    row["branch_name"] = "from-file"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(row))
    assert (
        import_encord(store, project, [path], ImportOptions(branch_in_rows=True))
        .label_rows[0]
        .branch_name
        == "from-file"
    )
    assert (
        import_encord(
            store, project, [path], ImportOptions(branch="opt", branch_in_rows=True, append=True)
        )
        .label_rows[0]
        .branch_name
        == "opt"
    )
    del row["branch_name"]
    path.write_text(json.dumps(row))
    assert (
        import_encord(store, project, [path], ImportOptions(branch_in_rows=True, append=True))
        .label_rows[0]
        .branch_name
        == "main"
    )
    listed = verify_listing(store, project, all_branches=True)
    assert sorted(r.branch_name for r in listed) == ["from-file", "main", "opt"]
    with pytest.raises(BranchNameError, match="--branch|branch_name"):
        ImportOptions(branch="bad name!", branch_in_rows=True)
    row["branch_name"] = "bad name!"  # a row's own branch is checked where it stands
    path.write_text(json.dumps(row))
    with pytest.raises(ImportFormatError, match="branch_name"):
        import_encord(store, project, [path], ImportOptions(branch_in_rows=True))


def test_append_replaces_the_row(store: Store, tmp_path: Path) -> None:
    project = native_project(store)
    import_encord(store, project, [NATIVE], ImportOptions(branch_in_rows=True))
    row = load(NATIVE)
    unit = next(iter(row["data_units"].values()))
    unit["labels"]["objects"] = unit["labels"]["objects"][:1]
    del row["object_answers"]["2c1Uso5b"], row["object_answers"]["f7RpEkg5"]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(row))
    with pytest.raises(BranchHasLabelsError, match="--append|append=True"):
        import_encord(store, project, [path], ImportOptions(branch_in_rows=True))
    report = import_encord(store, project, [path], ImportOptions(branch_in_rows=True, append=True))
    assert report.label_rows[0].replaced
    (exported,) = export_encord(store, project)
    (unit_out,) = exported["data_units"].values()
    assert [o["objectHash"] for o in unit_out["labels"]["objects"]] == ["saG3qh6C"]


def test_unknown_unit_and_duplicate_rows_are_refused(store: Store, tmp_path: Path) -> None:
    project = native_project(store)
    row = load(NATIVE)
    twice = tmp_path / "twice.json"
    twice.write_text(json.dumps([row, row]))
    with pytest.raises(ImportFormatError, match=r"row 1 .*already given by .* row 0"):
        import_encord(store, project, [twice], ImportOptions(branch_in_rows=True))
    row["data_title"] = "elsewhere.jpg"
    row["data_hash"] = "0000"
    (unit,) = row["data_units"].values()
    row["data_units"] = {"1111": unit}
    lost = tmp_path / "lost.json"
    lost.write_text(json.dumps(row))
    with pytest.raises(ImportFormatError, match=r"unknown data unit.*'elsewhere.jpg'"):
        import_encord(store, project, [lost], ImportOptions(branch_in_rows=True))


# -- every geometry, nested and dynamic attributes, video frames and audio ranges -------------


def attr(uid: str, name: str, kind: str, fnh: str, **kw: Any) -> dict[str, Any]:
    return {"id": uid, "name": name, "type": kind, "featureNodeHash": fnh, "required": False, **kw}


def option(uid: str, label: str, fnh: str, **kw: Any) -> dict[str, Any]:
    return {"id": uid, "label": label, "value": label.lower(), "featureNodeHash": fnh, **kw}


def obj(uid: str, name: str, shape: str, fnh: str, **kw: Any) -> dict[str, Any]:
    return {"id": uid, "name": name, "color": "#D33115", "shape": shape, "featureNodeHash": fnh,
            "required": False, **kw}  # fmt: skip


ALL_SHAPES_ONTOLOGY: dict[str, Any] = {
    "objects": [
        obj("1", "car", "bounding_box", "aaaa0001", attributes=[
            attr("1.1", "quality", "radio", "attr0001", options=[
                option("1.1.1", "good", "opt00001", options=[
                    attr("1.1.1.1", "why", "text", "attr0002")]),
                option("1.1.2", "bad", "opt00002")]),
            attr("1.2", "score", "numeric", "attr0003"),
            attr("1.3", "state", "radio", "attr0004", dynamic=True, options=[
                option("1.3.1", "moving", "opt00003"), option("1.3.2", "parked", "opt00004")]),
        ]),
        obj("2", "turned", "rotatable_bounding_box", "aaaa0002"),
        obj("3", "field", "polygon", "aaaa0003"),
        obj("4", "lane", "polyline", "aaaa0004"),
        obj("5", "tip", "point", "aaaa0005"),
        obj("6", "pose", "skeleton", "aaaa0006"),
        obj("7", "mask", "bitmask", "aaaa0007"),
        obj("8", "sound", "audio", "aaaa0008"),
    ],
    "classifications": [
        {"id": "1", "featureNodeHash": "cccc0001", "attributes": [
            attr("1.1", "weather", "radio", "attr0101", options=[
                option("1.1.1", "sunny", "opt00101"), option("1.1.2", "rainy", "opt00102")])]},
        {"id": "2", "featureNodeHash": "cccc0002", "attributes": [
            attr("2.1", "caption", "text", "attr0201")]},
    ],
}  # fmt: skip


def build_rows(project: ProjectRecord, store: Store) -> list[dict[str, Any]]:
    ontology = OntologyStructure.from_dict(project.ontology)
    rows = {r.data_title: r for r in list_label_rows(store, project, ontology)}
    out = []
    o = {x.name: x for x in ontology.objects}
    weather, caption = ontology.classifications

    video = rows["clip.mp4"]
    video._load_labels(None, video.metadata)
    car = o["car"].create_instance()
    car.set_for_frames(BoundingBoxCoordinates(0.2, 0.3, 0.1, 0.1), frames=[0, 1, 2],
                       confidence=0.75, manual_annotation=False)  # fmt: skip
    quality = o["car"].attributes[0]
    good = quality.options[0]
    car.set_answer(good, attribute=quality)
    car.set_answer("clear view", attribute=good.nested_options[0])
    car.set_answer(0.5, attribute=o["car"].attributes[1])
    state = o["car"].attributes[2]
    car.set_answer(state.options[0], attribute=state, frames=Range(0, 1))
    car.set_answer(state.options[1], attribute=state, frames=2)
    video.add_object_instance(car)
    shapes: list[tuple[str, Any]] = [
        ("turned", RotatableBoundingBoxCoordinates(0.2, 0.2, 0.3, 0.3, 33.0)),
        ("field", PolygonCoordinates(polygons=[[
            [PointCoordinate(0.1, 0.1), PointCoordinate(0.5, 0.1), PointCoordinate(0.5, 0.5)],
            [PointCoordinate(0.2, 0.15), PointCoordinate(0.4, 0.15), PointCoordinate(0.4, 0.3)],
        ]])),
        ("lane", PolylineCoordinates([PointCoordinate(0.0, 0.0), PointCoordinate(1.0, 1.0)])),
        ("tip", PointCoordinate(0.25, 0.75)),
        ("pose", SkeletonCoordinates([
            SkeletonCoordinate(x=0.1, y=0.2, name="head", feature_hash="kp000001"),
            SkeletonCoordinate(x=0.3, y=0.4, name="tail", feature_hash="kp000002"),
        ], name="pose")),
    ]  # fmt: skip
    for frame, (name, coords) in enumerate(shapes, start=3):
        inst = o[name].create_instance()
        inst.set_for_frames(coords, frames=frame, confidence=0.5)
        video.add_object_instance(inst)
    mask = np.zeros((48, 64), dtype=bool)
    mask[5:20, 10:30] = True
    inst = o["mask"].create_instance()
    inst.set_for_frames(BitmaskCoordinates(mask), frames=9, confidence=0.9)
    video.add_object_instance(inst)
    cls = weather.create_instance()
    cls.set_answer(weather.attributes[0].options[1])
    cls.set_for_frames(frames=Range(0, 4), confidence=0.6)
    video.add_classification_instance(cls)
    out.append(video.to_encord_dict())

    audio = rows["talk.wav"]
    audio._load_labels(None, audio.metadata)
    sound = o["sound"].create_instance()
    sound.set_for_frames(AudioCoordinates(range=[Range(100, 900)]))
    audio.add_object_instance(sound)
    text = caption.create_instance()
    text.set_answer("someone talks")
    text.set_for_frames(frames=Range(0, 1000))
    audio.add_classification_instance(text)
    out.append(audio.to_encord_dict())
    return out


def test_every_geometry_round_trips(store: Store, tmp_path: Path) -> None:
    project = create_project(store, "shapes", ALL_SHAPES_ONTOLOGY)
    add_data(store, project, [
        {"title": "clip.mp4", "data_type": "video", "width": 64, "height": 48,
         "number_of_frames": 10, "frames_per_second": 5.0, "duration": 2.0},
        {"title": "talk.wav", "data_type": "audio", "duration": 2.5, "audio_sample_rate": 16000},
    ])  # fmt: skip
    rows = build_rows(project, store)
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    report = import_encord(
        store, project, [path], ImportOptions(branch="model", branch_in_rows=True)
    )
    assert report.branches["model"] == {
        "rows": 2, "objects": 8, "classifications": 2, "replaced": 0
    }  # fmt: skip
    exported = {r["data_title"]: r for r in export_encord(store, project, branch_name="model")}
    for row in rows:
        out = exported[row["data_title"]]
        for key in set(row) | set(out):
            if key not in IDENTITY | {"branch_name", "data_units", "label_status"}:
                assert out[key] == row[key], (row["data_title"], key)
        assert (
            list(out["data_units"].values())[0]["labels"]
            == (list(row["data_units"].values())[0]["labels"])
        )
    video = exported["clip.mp4"]
    labels = video["data_units"][video["data_hash"]]["labels"]
    keys = {k for frame in labels.values() for o in frame["objects"] for k in o}
    geometry = {"boundingBox", "rotatableBoundingBox", "polygon", "polygons", "polyline",
                "point", "skeleton", "bitmask"}  # fmt: skip
    assert geometry <= keys
    assert video["object_actions"], "dynamic answers are stored in object_actions"
    listing = {r.data_title: r for r in verify_listing(store, project, branch_name="model")}
    car = next(x for x in listing["clip.mp4"].objects if x.object_name == "car")
    assert [a.frame for a in car.annotations] == [0, 1, 2]
    assert {a.confidence for a in car.annotations} == {0.75}
    assert car.attributes[0].answer["label"] == "good"
    assert car.attributes[0].nested[0].answer == "clear view"
    assert car.attributes[1].answer == 0.5
    sound = listing["talk.wav"].objects[0]
    assert sound.annotations[0].coordinates == {"range": [[100, 900]]}


def test_video_frame_outside_is_refused_before_writing(store: Store, tmp_path: Path) -> None:
    project = create_project(store, "shapes", ALL_SHAPES_ONTOLOGY)
    add_data(store, project, [
        {"title": "clip.mp4", "data_type": "video", "width": 64, "height": 48,
         "number_of_frames": 10, "frames_per_second": 5.0, "duration": 2.0},
        {"title": "talk.wav", "data_type": "audio", "duration": 2.5, "audio_sample_rate": 16000},
    ])  # fmt: skip
    rows = build_rows(project, store)
    unit = next(iter(rows[0]["data_units"].values()))
    unit["labels"]["12"] = unit["labels"].pop("9")
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    before = dump(store)
    with pytest.raises(ImportFormatError, match=r"row 0 \('clip.mp4'\), frame 12: frame 12 is"):
        import_encord(store, project, [path], ImportOptions(branch_in_rows=True))
    assert dump(store) == before


def test_row_detached_helper_is_initialised() -> None:
    """``build_rows`` relies on ``_load_labels(None, ...)`` giving an empty, usable row."""
    ontology = OntologyStructure.from_dict(ALL_SHAPES_ONTOLOGY)
    from predscope.objects.label_row_metadata import LabelRowMetadata

    meta = LabelRowMetadata(data_hash="x", data_title="x.png", width=10, height=10)
    row = LabelRowV2(meta, ontology)
    row._load_labels(None, meta)
    assert row.get_object_instances() == []


def test_sdk_project_delegates_to_the_service(store_url: str) -> None:
    import predscope

    with predscope.Client(store_url) as client:
        project = client.create_project("sdk", ontology=DATA / "ontology_all_types_dict.json")
        project.add_data([{"title": "rousseau_2.jpg", "width": 1200, "height": 924}])
        report = project.import_encord([NATIVE], branch_name="model")
        assert report.branches["model"]["objects"] == 3
        (row,) = project.export_encord(branch_name="model")
        assert row["object_answers"] == load(NATIVE)["object_answers"]
        rows = project.list_label_rows_v2(branch_name="model")
        rows[0].initialise_labels()
        assert len(rows[0].get_classification_instances()) == 3


def test_current_classification_form_alone_imports(store: Store, tmp_path: Path) -> None:
    """Rows written by SDK >= 0.1.205 carry classifications only as ``range`` entries."""
    project = native_project(store)
    import_encord(store, project, [NATIVE], ImportOptions(branch_in_rows=True))
    (row,) = export_encord(store, project)
    for unit in row["data_units"].values():
        unit["labels"]["classifications"] = []
    path = tmp_path / "range_only.json"
    path.write_text(json.dumps(row))
    report = import_encord(
        store, project, [path], ImportOptions(branch="range-only", branch_in_rows=True)
    )
    assert report.label_rows[0].classifications == 3
    (again,) = export_encord(store, project, branch_name="range-only")
    assert again["classification_answers"] == row["classification_answers"]
