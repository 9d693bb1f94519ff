"""The save-time document checks and the row service used by importers (write_rows)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import CoordinatesError, FrameError, OntologyError
from predscope.objects.label_row_metadata import ImageInfo, LabelRowMetadata
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services import projects as project_service
from predscope.services import rows as row_service
from predscope.store.engine import Store, open_store

ONTOLOGY: dict[str, Any] = {
    "objects": [
        {
            "id": "1",
            "name": "box",
            "color": "#000000",
            "shape": "bounding_box",
            "featureNodeHash": "Ym94",
            "required": False,
        },
        {
            "id": "2",
            "name": "mask",
            "color": "#111111",
            "shape": "bitmask",
            "featureNodeHash": "bWFzaw",
            "required": False,
        },
    ],
    "classifications": [
        {
            "id": "1",
            "featureNodeHash": "Y2xz",
            "attributes": [
                {
                    "id": "1.1",
                    "name": "flag",
                    "type": "text",
                    "featureNodeHash": "ZmxhZw",
                    "required": False,
                }
            ],
        },
    ],
}
INDEX = row_service.OntologyIndex(OntologyStructure.from_dict(ONTOLOGY))


def _obj(feature: str = "Ym94", shape: str = "bounding_box", **extra: Any) -> dict[str, Any]:
    return {"objectHash": "o1", "featureHash": feature, "shape": shape, **extra}


def _image_doc(
    objects: list[dict[str, Any]], classifications: list[dict[str, Any]] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "data_units": {
            "d1": {
                "width": 40,
                "height": 30,
                "data_sequence": 0,
                "labels": {"objects": objects, "classifications": list(classifications)},
            }
        },
        "object_answers": {o["objectHash"]: {"objectHash": o["objectHash"]} for o in objects},
        "classification_answers": {},
    }


IMAGE = LabelRowMetadata(data_hash="d1", data_title="i.jpg", width=40, height=30, label_hash="l1")
VIDEO = LabelRowMetadata(
    data_hash="v1", data_title="v.mp4", data_type="video", width=40, height=30, number_of_frames=5
)


def test_a_good_image_row_passes_and_is_counted() -> None:
    doc = _image_doc([_obj(), _obj(objectHash="o2")])
    assert row_service.check_document(doc, IMAGE, INDEX) == (2, 0)


def test_unknown_feature_hash_names_row_and_object() -> None:
    with pytest.raises(OntologyError, match=r"'i.jpg'.*'o1'.*'bm9wZQ'"):
        row_service.check_document(_image_doc([_obj("bm9wZQ")]), IMAGE, INDEX)


def test_shape_must_match_the_ontology() -> None:
    with pytest.raises(OntologyError, match="shape 'polygon'"):
        row_service.check_document(_image_doc([_obj(shape="polygon")]), IMAGE, INDEX)


def test_bitmask_size_must_equal_the_frame() -> None:
    good = _obj("bWFzaw", "bitmask", bitmask={"height": 30, "width": 40, "rleString": "x"})
    assert row_service.check_document(_image_doc([good]), IMAGE, INDEX) == (1, 0)
    bad = _obj("bWFzaw", "bitmask", bitmask={"height": 40, "width": 30, "rleString": "x"})
    with pytest.raises(CoordinatesError, match="40x30.*30x40"):
        row_service.check_document(_image_doc([bad]), IMAGE, INDEX)


def test_video_frames_must_lie_inside_the_unit() -> None:
    doc = {"data_units": {"v1": {"labels": {"4": {"objects": [_obj()]}}}}, "object_answers": {}}
    row_service.check_document(doc, VIDEO, INDEX)
    doc["data_units"]["v1"]["labels"]["5"] = {"objects": [_obj()]}
    with pytest.raises(FrameError, match="frame 5.*5 frame"):
        row_service.check_document(doc, VIDEO, INDEX)


def test_image_group_frame_is_the_data_sequence() -> None:
    md = LabelRowMetadata(
        data_hash="g",
        data_type="img_group",
        images=(ImageInfo(image_hash="i0", width=4, height=4),),
    )
    doc = {"data_units": {"i1": {"data_sequence": "1", "labels": {"objects": [_obj()]}}}}
    with pytest.raises(FrameError, match="frame 1"):
        row_service.check_document(doc, md, INDEX)


def test_unknown_classifications_are_refused() -> None:
    doc = _image_doc([], [{"featureHash": "bm9wZQ", "classificationHash": "c1"}])
    with pytest.raises(OntologyError, match="'c1'"):
        row_service.check_document(doc, IMAGE, INDEX)
    doc = _image_doc([])
    doc["classification_answers"] = {"c2": {"featureHash": "bm9wZQ", "classificationHash": "c2"}}
    with pytest.raises(OntologyError, match="'c2'"):
        row_service.check_document(doc, IMAGE, INDEX)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "store")
    yield s
    s.close()


def test_write_rows_inside_a_callers_transaction_rolls_back_with_it(store: Store) -> None:
    project = project_service.create_project(store, "svc", ONTOLOGY)
    project_service.add_data(store, project, [{"title": "a.jpg", "width": 40, "height": 30}])
    ontology = OntologyStructure.from_dict(ONTOLOGY)
    [row] = row_service.list_label_rows(store, project, ontology, branch_name="imp")
    row.initialise_labels()
    from predscope.objects.coordinates import BoundingBoxCoordinates

    inst = ontology.objects[0].create_instance()
    inst.set_for_frames(BoundingBoxCoordinates(height=0.5, width=0.5, top_left_x=0, top_left_y=0))
    row.add_object_instance(inst)
    with pytest.raises(RuntimeError), store.begin() as conn:
        row_service.write_rows(conn, project, [row])
        raise RuntimeError("the importer failed later in the same transaction")
    [fresh] = row_service.list_label_rows(store, project, ontology, branch_name="imp")
    fresh.initialise_labels()
    assert fresh.get_object_instances() == []
    with store.begin() as conn:
        row_service.write_rows(conn, project, [row])
    [saved] = row_service.list_label_rows(store, project, ontology, branch_name="imp")
    saved.initialise_labels()
    assert [o.object_hash for o in saved.get_object_instances()] == [inst.object_hash]
    records = row_service.list_row_records(store, project, branch_name="imp")
    assert (records[0].object_count, records[0].classification_count) == (1, 0)
    meta = row_service.metadata_from_record(records[0])
    assert (meta.label_hash, meta.branch_name, meta.width, meta.height) == (
        saved.label_hash,
        "imp",
        40,
        30,
    )
