"""Nested attributes do not change matching but are stored for slicing: query by answer."""

from __future__ import annotations

import json
from pathlib import Path

from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.sdk.client import Client

DATA = Path(__file__).resolve().parents[3] / "data" / "encord-label-rows"


def _box(project, row, x: float, name: str, moods: list[int], confidence: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    nested = project.ontology_structure.get_child_by_title("Nested Box")
    text_attr, mood = nested.attributes
    inst = nested.create_instance()
    inst.set_for_frames(
        BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=x, top_left_y=0.1),
        frames=0,
        confidence=confidence,
        manual_annotation=False,
    )
    inst.set_answer(name, attribute=text_attr)
    inst.set_answer([mood.options[i] for i in moods])
    row.add_object_instance(inst)


def test_attributes_are_stored_and_queryable(tmp_path: Path) -> None:
    ontology = json.loads((DATA / "ontology_all_types_dict.json").read_text())
    with Client(tmp_path / "store") as client:
        project = client.create_project("attrs", ontology)
        project.add_data([{"title": f"{i}.jpg", "width": 100, "height": 100} for i in range(2)])
        for branch, shift, conf in (("main", 0.0, 1.0), ("model", 0.01, 0.9)):
            for row in project.list_label_rows_v2(branch_name=branch):
                row.initialise_labels()
                _box(project, row, 0.1 + shift, "Lion", [0], conf)
                _box(project, row, 0.6 + shift, "Tiger", [0, 1], conf)
                row.save()
        doc = project.analyse(branch_name="model")
        assert doc["counts"][0]["tp"] == 4  # attributes never change matching
        lions = project.query_objects("model", attributes={"First name": "Lion"})
        assert lions.total == 2
        sad = project.query_objects("model", kind="ground_truth", attributes={"Mood": ["Sad"]})
        assert sad.total == 2 and all(i["geometry"]["bbox"][0] == 60.0 for i in sad.items)
        both = project.query_objects("model", attributes={"Mood": "Angry", "First name": "Tiger"})
        assert both.total == 2
        assert project.query_objects("model", attributes={"Mood": "Happy"}).total == 0
