"""Object attribute answers come back out of both COCO exports as an ``attributes`` dict."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from predscope.objects.attributes import Attribute
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
)
from predscope.objects.ontology_object import Object
from predscope.sdk.client import Client
from predscope.services.exports.coco import export_coco, write_coco_export
from predscope.services.projects import get_project
from predscope.store.engine import open_store

ROOT = Path(__file__).resolve().parents[3]
ONTOLOGY = ROOT / "data" / "encord-label-rows" / "ontology_all_types_dict.json"


@pytest.fixture
def location(store_url: str) -> str:
    """Branch ``preds``: an OCR-style box with text and checklist answers, a polygon with a radio
    answer, a box whose object has attributes but no answers, and a box of an attribute-less
    object - written through the SDK as a user script would."""
    with Client(store_url) as client:
        client.create_project("P", ONTOLOGY)
        project = client.get_project("P")
        project.add_data([{"title": "img.png", "width": 200, "height": 100}])
        [row] = project.list_label_rows_v2(branch_name="preds")
        row.initialise_labels()
        ontology = row.ontology_structure
        nested = ontology.get_child_by_title("Nested Box", type_=Object)
        polygon = ontology.get_child_by_title("Deeply Nested Polygon", type_=Object)
        plain = ontology.get_child_by_title("Box", type_=Object)

        def attribute(obj: Object, name: str) -> Attribute:
            return next(a for a in obj.attributes if a.name == name)

        ocr = nested.create_instance()
        ocr.set_for_frames(BoundingBoxCoordinates(0.2, 0.1, 0.1, 0.1), 0, confidence=0.9)
        ocr.set_answer("M6", attribute=attribute(nested, "First name"))
        mood = attribute(nested, "Mood")
        ocr.set_answer(list(mood.options), attribute=mood)
        row.add_object_instance(ocr)
        shape = polygon.create_instance()
        square = [PointCoordinate(0.5, 0.5), PointCoordinate(0.7, 0.5), PointCoordinate(0.7, 0.8)]
        shape.set_for_frames(PolygonCoordinates(square), 0, confidence=0.8)
        radio = attribute(polygon, "Radio level 1 ")
        shape.set_answer(radio.options[1], attribute=radio)
        row.add_object_instance(shape)
        unanswered = nested.create_instance()
        unanswered.set_for_frames(BoundingBoxCoordinates(0.1, 0.1, 0.6, 0.6), 0, confidence=0.7)
        row.add_object_instance(unanswered)
        box = plain.create_instance()
        box.set_for_frames(BoundingBoxCoordinates(0.1, 0.1, 0.8, 0.8), 0, confidence=0.6)
        row.add_object_instance(box)
        row.save()
    return store_url


EXPECTED = [
    {"First name": "M6", "Mood": ["Angry", "Sad"]},
    {"Radio level 1 ": "1 option 2"},
    None,
    None,
]


@pytest.mark.parametrize("results", [True, False])
def test_answers_come_out_as_attributes(location: str, results: bool) -> None:
    with open_store(location) as store:
        project = get_project(store, "P")
        payload = export_coco(store, project, branch_name="preds", results=results)
        annotations = payload if isinstance(payload, list) else payload["annotations"]
        assert [a.get("attributes") for a in annotations] == EXPECTED
        assert [a.get("score") for a in annotations] == (
            [0.9, 0.8, 0.7, 0.6] if results else [None] * 4
        )
        streamed = io.BytesIO()
        write_coco_export(store, project, streamed, branch_name="preds", results=results)
        assert streamed.getvalue() == orjson.dumps(payload)
