"""OntologyStructure: exact JSON round trip, lookups by hash and title, element fields."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import OntologyError
from predscope.objects.attributes import (
    ChecklistAttribute,
    NumericAttribute,
    RadioAttribute,
    TextAttribute,
    attribute_from_dict,
)
from predscope.objects.classification import Classification
from predscope.objects.common import Shape
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.objects.options import FlatOption, NestableOption, Option
from predscope.objects.skeleton_template import SkeletonTemplate

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def all_types() -> OntologyStructure:
    return OntologyStructure.from_dict(_load("ontology_all_types_dict.json"))


@pytest.mark.parametrize("name", ["ontology_all_types_dict.json", "ontology_image_group.json"])
def test_fixture_ontology_round_trips_exactly(name: str) -> None:
    raw = _load(name)
    out = OntologyStructure.from_dict(copy.deepcopy(raw)).to_dict()
    assert out == raw
    # Keys absent in the input (e.g. skeleton_templates, object 'attributes') stay absent.
    assert "skeleton_templates" not in out
    assert "attributes" not in out["objects"][0]


def test_fields_and_types(all_types: OntologyStructure) -> None:
    nested_box = all_types.get_child_by_title("Nested Box", type_=Object)
    assert nested_box.uid == 5
    assert nested_box.shape is Shape.BOUNDING_BOX
    assert nested_box.color == "#FCDC00"
    assert nested_box.feature_node_hash == "MTA2MjAx"
    text, mood = nested_box.attributes
    assert isinstance(text, TextAttribute) and text.uid == [5, 1]
    assert isinstance(mood, ChecklistAttribute) and [o.label for o in mood.options] == [
        "Angry",
        "Sad",
    ]
    assert all(isinstance(o, FlatOption) for o in mood.options)
    radio = all_types.get_child_by_hash("MTExMjI3")
    assert isinstance(radio, RadioAttribute) and radio.name == "Radio level 1 "
    option = radio.options[1]
    assert isinstance(option, NestableOption) and option.title == "1 option 2"
    assert option.nested_options[0].name == "1 2 radio 1"
    assert option.nested_options[0].uid == [6, 1, 2, 1]


def test_classification_title_is_first_attribute(all_types: OntologyStructure) -> None:
    cls = all_types.get_child_by_hash("NzIxNTU1", type_=Classification)
    assert cls.title == "Radio classification 1"
    global_cls = all_types.classifications[3]
    assert global_cls.level == "global"


def test_title_matching_two_kinds_is_ambiguous(all_types: OntologyStructure) -> None:
    # The classification and its own first attribute share the title.
    with pytest.raises(OntologyError, match="more than one"):
        all_types.get_child_by_title("Text classification")
    assert isinstance(
        all_types.get_child_by_title("Text classification", type_=Classification), Classification
    )
    assert isinstance(
        all_types.get_child_by_title("Text classification", type_=TextAttribute), TextAttribute
    )


def test_duplicate_object_titles() -> None:
    ontology = OntologyStructure.from_dict(_load("ontology_image_group.json"))
    bins = ontology.get_children_by_title("Bin", type_=Object)
    assert sorted(b.shape.value for b in bins) == ["bounding_box", "polygon"]
    with pytest.raises(OntologyError):
        ontology.get_child_by_title("Bin")


def test_missing_title_and_hash_raise(all_types: OntologyStructure) -> None:
    with pytest.raises(OntologyError, match="no item titled"):
        all_types.get_child_by_title("No such thing")
    with pytest.raises(OntologyError, match="no item has"):
        all_types.get_child_by_hash("nope")
    with pytest.raises(OntologyError, match="not a Classification"):
        all_types.get_child_by_hash("MTA2MjAx", type_=Classification)


def test_options_found_by_title_and_hash(all_types: OntologyStructure) -> None:
    angry = all_types.get_child_by_title("Angry", type_=Option)
    assert angry.feature_node_hash == "MTE5MjQ3" and angry.value == "angry"
    assert all_types.get_child_by_hash("MTE5MjQ3") is angry


def test_index_follows_appended_objects(all_types: OntologyStructure) -> None:
    ontology = OntologyStructure.from_dict(_load("ontology_image_group.json"))
    ontology.get_child_by_hash("r4M5dkj7")
    ontology.objects.append(Object(99, "newhash1", "Zebra", "#000000", Shape.POINT))
    assert ontology.get_child_by_title("Zebra").uid == 99
    assert all_types.get_child_by_title("Box").uid == 1


def test_repr_is_informative(all_types: OntologyStructure) -> None:
    mood = all_types.get_child_by_title("Mood")
    assert "Mood" in repr(mood) and "ODcxMDAy" in repr(mood)
    assert "Nested Box" in repr(all_types.objects[4])
    assert "objects=12" in repr(all_types)


def test_code_built_elements_emit_every_key() -> None:
    attr = NumericAttribute([1, 1], "numhash1", "Count", required=True)
    obj = Object(1, "objhash1", "Car", "#FF0000", Shape.BOUNDING_BOX, attributes=[attr])
    out = OntologyStructure([obj]).to_dict()
    assert out["objects"][0]["attributes"][0] == {
        "id": "1.1",
        "name": "Count",
        "type": "numeric",
        "featureNodeHash": "numhash1",
        "required": True,
        "archived": False,
        "dynamic": False,
    }
    assert out["skeleton_templates"] == []
    back = OntologyStructure.from_dict(out)
    assert back.to_dict() == out


def test_bad_ontology_json_is_located() -> None:
    with pytest.raises(OntologyError, match=r"objects\[0\].*shape"):
        OntologyStructure.from_dict({"objects": [{"featureNodeHash": "a", "name": "x"}]})
    with pytest.raises(OntologyError, match="unknown shape"):
        OntologyStructure.from_dict(
            {"objects": [{"featureNodeHash": "a", "name": "x", "shape": "blob"}]}
        )
    with pytest.raises(OntologyError, match="required"):
        attribute_from_dict({"type": "text", "featureNodeHash": "a", "name": "n"})
    with pytest.raises(OntologyError, match="unknown attribute type"):
        attribute_from_dict({"type": "slider", "featureNodeHash": "a", "name": "n"})


def test_skeleton_template_round_trip() -> None:
    raw = {
        "objects": [
            {
                "id": "1",
                "name": "cone",
                "color": "#A4DD00",
                "shape": "skeleton",
                "featureNodeHash": "sk1",
            }
        ],
        "classifications": [],
        "skeleton_templates": [
            {
                "template": {
                    "name": "cone",
                    "width": 0.2,
                    "height": 0.3,
                    "shape": "skeleton",
                    "skeleton": {
                        "0": {
                            "x": 0.1,
                            "y": 0.2,
                            "name": "tip",
                            "color": "#000",
                            "value": "tip",
                            "featureHash": "p0",
                        }
                    },
                    "skeletonEdges": {"0": {"1": {"color": "#fff"}}},
                    "feature_node_hash": "sk1",
                }
            }
        ],
    }
    ontology = OntologyStructure.from_dict(copy.deepcopy(raw))
    template = ontology.skeleton_templates[0]
    assert isinstance(template, SkeletonTemplate)
    assert template.point_feature_hashes() == ["p0"]
    assert ontology.to_dict() == raw


def test_create_instance_gives_fresh_hashes(all_types: OntologyStructure) -> None:
    box = all_types.get_child_by_title("Box", type_=Object)
    hashes = {box.create_instance().object_hash for _ in range(200)}
    assert len(hashes) == 200
    assert all(len(h) == 8 for h in hashes)
    cls = all_types.get_child_by_title("Text classification", type_=Classification)
    assert cls.create_instance().classification_name == "Text classification"
