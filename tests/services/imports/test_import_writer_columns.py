"""The columnar import plan: file order per unit, scores and unmatched ids counted as columns."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.label_row_metadata import LabelRowMetadata
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.coco import import_coco
from predscope.services.imports.documents import EntryTemplates, _box_fragments, new_hashes
from predscope.services.imports.documents import _entries as _dict_entries
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.writer import PlannedObject, UnitPlan
from predscope.services.projects import add_data, create_project
from predscope.store import label_rows as row_repo
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import ontology, open_test_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(tmp_path)


@pytest.fixture
def project(store: Store) -> ProjectRecord:
    onto = ontology([("cat", "bounding_box"), ("dog", "polygon")])
    project = create_project(store, "columns", onto)
    add_data(
        store,
        project,
        [
            {"title": "a.jpg", "width": 100, "height": 50},
            {"title": "b.jpg", "width": 80, "height": 40},
        ],
    )
    return project


def test_new_hashes_look_like_sdk_object_hashes() -> None:
    keys = new_hashes(1000)
    assert len(keys) == 1000 and len(set(keys)) == 1000
    assert all(len(k) == 8 and len(base64.b64decode(k)) == 6 for k in keys)
    assert new_hashes(0) == []


def test_unit_plan_round_trips_planned_objects() -> None:
    box = BoundingBoxCoordinates(0.5, 0.25, 0.1, 0.2)
    items = [
        PlannedObject("f1", 0, None, 0.9, None, (0.5, 0.25, 0.1, 0.2)),
        PlannedObject("f2", 3, box, 1.0, {"coco": {"id": 4}}),
    ]
    unit = UnitPlan.from_objects(items)
    assert len(unit) == 2
    assert unit.boxes == [(0.5, 0.25, 0.1, 0.2), None]
    assert unit.extras == [None, {"coco": {"id": 4}}]
    back = list(unit.objects())
    assert [(o.feature_hash, o.frame, o.confidence, o.extra) for o in back] == [
        ("f1", 0, 0.9, None),
        ("f2", 3, 1.0, {"coco": {"id": 4}}),
    ]
    assert back[0].coords() == box and back[1].coords() is box
    plain = UnitPlan.from_objects(items[:1])
    assert plain.coordinates is None and plain.extras is None


def _entries(store: Store, project: ProjectRecord, branch: str) -> dict[str, list[Any]]:
    with store.read() as conn:
        records = row_repo.list_row_metadata(conn, project.id, branch_name=branch)
        docs = row_repo.load_documents(conn, [str(r.label_hash) for r in records if r.label_hash])
    out: dict[str, list[Any]] = {}
    for r in records:
        if r.label_hash:
            doc = docs[str(r.label_hash)]
            labels = next(iter(doc["data_units"].values()))["labels"]
            assert set(doc["object_answers"]) == {e["objectHash"] for e in labels["objects"]}
            assert r.object_count == len(labels["objects"])
            out[r.unit.data_title] = [
                (e["name"], e["confidence"], "boundingBox" in e) for e in labels["objects"]
            ]
    return out


def test_interleaved_images_and_shapes_keep_file_order(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    dataset = {
        "images": [
            {"id": 2, "file_name": "b.jpg", "width": 80, "height": 40},
            {"id": 1, "file_name": "a.jpg", "width": 100, "height": 50},
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [],
    }
    polygon = [[1, 1, 20, 1, 20, 20]]
    results = [
        {"image_id": 1, "category_id": 2, "segmentation": polygon, "bbox": [1, 1, 19, 19]},
        {"image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.25},
        {"image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10], "score": 0.5},
        {"image_id": 2, "category_id": 2, "segmentation": polygon, "score": 0.75},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 200, 10], "score": 7.5},
    ]
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(dataset))
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(results))
    report = import_coco(store, project, path, ImportOptions(branch="preds"), gt_path=gt)
    assert report.objects == 5 and report.rows == 2
    assert report.clipped == 1 and report.missing_scores == 1
    assert list(report.per_class.items()) == [("dog", 2), ("cat", 3)]
    assert _entries(store, project, "preds") == {
        "a.jpg": [("dog", 1.0, False), ("cat", 0.5, True), ("cat", 7.5, True)],
        "b.jpg": [("cat", 0.25, True), ("dog", 0.75, False)],
    }


def test_unmatched_categories_are_counted_in_order_of_first_use(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    dataset = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 50}],
        "categories": [
            {"id": 1, "name": "cat"},
            {"id": 7, "name": "zebra"},
            {"id": 9, "name": "yak"},
        ],
        "annotations": [
            {"id": i, "image_id": 1, "category_id": c, "bbox": [1, 1, 5, 5]}
            for i, c in enumerate([9, 1, 7, 9, 7, 9], start=1)
        ],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(dataset))
    report = import_coco(
        store,
        project,
        path,
        ImportOptions(branch="main", ground_truth=True, on_unknown_category="skip"),
    )
    assert list(report.skipped_categories.items()) == [("9 'yak'", 3), ("7 'zebra'", 2)]
    assert report.objects == 1


finite = st.floats(allow_nan=False, allow_infinity=False)
fraction = st.floats(0.0, 1.0)  # tiny and subnormal values too: orjson's exponent forms


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 1]), finite, st.tuples(fraction, fraction, fraction, fraction)
        ),
        min_size=1,
        max_size=12,
    )
)
def test_encoded_box_entries_are_the_dict_entries_bytes(
    objects: list[tuple[int, float, tuple[float, float, float, float]]],
) -> None:
    """The detections' fast path writes bytes; they must be orjson's bytes of the dict path."""
    onto = OntologyStructure.from_dict(
        ontology([("cat 100%", "bounding_box"), ('dog "x"', "bounding_box")])
    )
    hashes = [o.feature_node_hash for o in onto.objects]
    templates = EntryTemplates(onto, False, "Fri, 27 Nov 2026 14:11:58 UTC")
    metadata = LabelRowMetadata(
        label_hash="lh", branch_name="preds", data_hash="dh", data_title="a.jpg",
        data_type="image", width=100, height=50,
    )  # fmt: skip
    unit = UnitPlan(
        [hashes[k] for k, _, _ in objects],
        [0] * len(objects),
        [score for _, score, _ in objects],
        [list(box) for _, _, box in objects],
    )
    used = templates.for_unit(unit, metadata)
    formats = {fh: templates.box_format(fh) for fh in used}
    assert None not in formats.values()
    keys = new_hashes(len(unit))
    entries, answers = _box_fragments(unit, formats, [k.encode() for k in keys])  # type: ignore[arg-type]
    expected = _dict_entries(unit, keys, used)
    assert orjson.dumps(entries) == orjson.dumps(expected)
    assert orjson.loads(orjson.dumps(answers)) == {
        k: {"objectHash": k, "classifications": []} for k in keys
    }
