"""LabelRowV2 with a backend, and Bundle grouping (against an in-memory fake store)."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import InvalidArgumentsError, LabelRowError
from predscope.objects.bundle import Bundle
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.label_row import LabelRowV2
from predscope.objects.label_row_metadata import LabelRowMetadata
from predscope.objects.ontology_structure import OntologyStructure

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"


class FakeStore:
    """Test double of the store: label_hash -> stored Encord dict; records every call."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, int]] = []

    def initialise_rows(self, rows: Sequence[LabelRowV2]) -> None:
        self.calls.append(("initialise", len(rows)))
        for row in rows:
            md = row.metadata
            if md.label_hash is None:
                md = dataclasses.replace(md, label_hash=str(uuid.uuid4()))
                row._load_labels(None, md)
            else:
                row._load_labels(json.loads(json.dumps(self.rows[md.label_hash])), md)

    def save_rows(self, rows: Sequence[LabelRowV2]) -> None:
        self.calls.append(("save", len(rows)))
        for row in rows:
            assert row.label_hash is not None
            self.rows[row.label_hash] = json.loads(json.dumps(row.to_encord_dict()))


@pytest.fixture()
def ontology() -> OntologyStructure:
    return OntologyStructure.from_dict(json.loads((DATA / "ontology_image_group.json").read_text()))


def _rows(ontology: OntologyStructure, store: FakeStore, n: int) -> list[LabelRowV2]:
    return [
        LabelRowV2(
            LabelRowMetadata(
                data_hash=f"d{i}",
                data_title=f"img{i}.jpg",
                data_type="image",
                branch_name="preds",
                width=10,
                height=10,
            ),
            ontology,
            store,
        )
        for i in range(n)
    ]


def _add_box(row: LabelRowV2, confidence: float) -> None:
    cars = row.ontology_structure.objects[0]
    inst = cars.create_instance()
    inst.set_for_frames(
        BoundingBoxCoordinates(0.1, 0.1, 0.5, 0.5),
        frames=0,
        confidence=confidence,
        manual_annotation=False,
    )
    row.add_object_instance(inst)


def test_guide_flow_with_bundles(ontology: OntologyStructure) -> None:
    store = FakeStore()
    rows = _rows(ontology, store, 5)
    bundle = Bundle(bundle_size=2)
    for row in rows:
        row.initialise_labels(bundle=bundle)
    assert not rows[0].is_labelling_initialised
    bundle.execute()
    assert store.calls == [("initialise", 2), ("initialise", 2), ("initialise", 1)]
    assert all(r.is_labelling_initialised and r.label_hash for r in rows)
    for i, row in enumerate(rows):
        _add_box(row, 0.1 * (i + 1))
        row.save(bundle=bundle)
    bundle.execute()  # reused after the first execute
    assert store.calls[3:] == [("save", 2), ("save", 2), ("save", 1)]
    assert len(store.rows) == 5
    # Read back through fresh rows, as verify_import.py does.
    fresh = [LabelRowV2(r.metadata, ontology, store) for r in rows]
    with Bundle() as read_bundle:
        for row in fresh:
            row.initialise_labels(bundle=read_bundle)
    assert store.calls[-1] == ("initialise", 5)
    confidences = [r.get_object_instances()[0].get_annotation(0).confidence for r in fresh]
    assert confidences == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert all(
        r.get_object_instances()[0].get_annotation(0).manual_annotation is False for r in fresh
    )
    assert {r.branch_name for r in fresh} == {"preds"}


def test_without_bundle_each_call_goes_direct(ontology: OntologyStructure) -> None:
    store = FakeStore()
    (row,) = _rows(ontology, store, 1)
    with pytest.raises(LabelRowError, match="initialise"):
        row.save()
    row.initialise_labels()
    assert store.calls == [("initialise", 1)]
    with pytest.raises(LabelRowError, match="already initialised"):
        row.initialise_labels()
    _add_box(row, 0.9)
    row.save()
    assert store.calls[-1] == ("save", 1)
    row.initialise_labels(overwrite=True)
    assert len(row.get_object_instances()) == 1


def test_feature_hash_filter_is_applied_on_load(ontology: OntologyStructure) -> None:
    store = FakeStore()
    (row,) = _rows(ontology, store, 1)
    row.initialise_labels()
    _add_box(row, 0.5)
    row.save()
    again = LabelRowV2(row.metadata, ontology, store)
    again.initialise_labels(include_object_feature_hashes={"not-cars"})
    assert again.get_object_instances() == []
    assert again.init_options["include_object_feature_hashes"] == {"not-cars"}


def test_bundle_groups_per_backend(ontology: OntologyStructure) -> None:
    first, second = FakeStore(), FakeStore()
    rows = _rows(ontology, first, 2) + _rows(ontology, second, 3)
    bundle = Bundle()
    for row in rows:
        bundle.add_initialise(row)
    bundle.add_initialise(rows[0])  # queued twice, run once
    assert len(bundle) == 5
    bundle.execute()
    assert first.calls == [("initialise", 2)] and second.calls == [("initialise", 3)]
    assert len(bundle) == 0


def test_bundle_drops_queue_on_exception(
    ontology: OntologyStructure, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore()
    rows = _rows(ontology, store, 2)
    bundle = Bundle()
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError), bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
        raise RuntimeError("script failed")
    assert store.calls == []
    assert "2 queued operation(s) dropped" in caplog.text


def test_detached_rows_cannot_use_backend_or_bundle(ontology: OntologyStructure) -> None:
    row = LabelRowV2(LabelRowMetadata(data_hash="x"), ontology)
    with pytest.raises(LabelRowError, match="detached"):
        row.initialise_labels()
    with pytest.raises(LabelRowError, match="detached"):
        Bundle().add_initialise(row)
    with pytest.raises(InvalidArgumentsError):
        Bundle(bundle_size=0)
