"""Ontology behaviours Encord's SDK has that predscope lacks (strict xfails,
they pass once fixed) and the exact round trip of well-formed Encord ontology JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import OntologyError
from predscope.objects.attributes import ChecklistAttribute, RadioAttribute
from predscope.objects.classification import Classification
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.objects.options import NestableOption

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"


def _all_types() -> OntologyStructure:
    return OntologyStructure.from_dict(
        json.loads((DATA / "ontology_all_types_dict.json").read_text())
    )


def _with_attribute_id(uid: Any) -> dict[str, Any]:
    return {
        "objects": [{
            "id": "1", "name": "car", "color": "#D33115", "shape": "bounding_box",
            "featureNodeHash": "Y2FyMDAx", "required": False,
            "attributes": [{"id": uid, "name": "note", "type": "text",
                            "featureNodeHash": "bm90ZTAx", "required": False}],
        }],
        "classifications": [],
    }  # fmt: skip


def test_dotted_attribute_ids_round_trip() -> None:
    raw = _with_attribute_id("1.1")
    out = OntologyStructure.from_dict(copy.deepcopy(raw))
    assert out.objects[0].attributes[0].uid == [1, 1]
    assert out.to_dict() == raw


@pytest.mark.parametrize("uid", ["x.y", [1, 1]])
def test_malformed_attribute_id_is_refused(uid: Any) -> None:
    with pytest.raises(OntologyError, match="id"):
        OntologyStructure.from_dict(_with_attribute_id(uid))


def test_object_finds_its_nested_attributes_and_options() -> None:
    onto = _all_types()
    polygon = onto.get_child_by_title("Deeply Nested Polygon", type_=Object)
    level2 = polygon.get_child_by_title("1 2 radio 1", type_=RadioAttribute)
    assert level2.feature_node_hash == "NDYyMjQx"
    option = polygon.get_child_by_hash("MTY0MzU2", type_=NestableOption)
    assert option.label == "1 2 1 option 1"
    box = onto.get_child_by_title("Nested Box", type_=Object)
    with pytest.raises(OntologyError):
        box.get_child_by_title("1 2 radio 1")  # not under this object
    assert box.get_child_by_title("Mood", type_=ChecklistAttribute).uid == [5, 2]


def test_malformed_ids_name_the_json_path_and_the_rule() -> None:
    raw = json.loads((DATA / "ontology_all_types_dict.json").read_text())
    raw["objects"][5]["attributes"][0]["options"][0]["id"] = "6.1.x"
    with pytest.raises(OntologyError) as info:
        OntologyStructure.from_dict(raw)
    message = str(info.value)
    assert message.startswith("objects[5].attributes[0].options[0].id: '6.1.x'"), message
    assert 'dotted integer string such as "1.2"' in message
    with pytest.raises(OntologyError, match=r"^objects\[0\]\.attributes\[0\]\.id: 7"):
        OntologyStructure.from_dict(_with_attribute_id(7))
    with pytest.raises(OntologyError, match=r"^objects\[0\]\.attributes\[0\]\.id: '1\.\.2'"):
        OntologyStructure.from_dict(_with_attribute_id("1..2"))


def test_subtree_lookups_on_classifications_attributes_and_options() -> None:
    onto = _all_types()
    radio = onto.get_child_by_title("Radio classification 1", type_=Classification)
    option = radio.get_child_by_title("cl 1 option 2", type_=NestableOption)
    assert option is onto.get_child_by_title("cl 1 option 2", type_=NestableOption)
    attribute = radio.attributes[0]
    assert attribute.get_child_by_hash(option.feature_node_hash) is option
    assert [o.title for o in attribute.get_children_by_title("cl 1 option 1")] == ["cl 1 option 1"]
    assert attribute.get_children_by_title("cl 1 option 1", type_=ChecklistAttribute) == []
    with pytest.raises(OntologyError, match="is a NestableOption, not a RadioAttribute"):
        radio.get_child_by_hash(option.feature_node_hash, type_=RadioAttribute)
    with pytest.raises(OntologyError, match="no item has feature node hash"):
        radio.get_child_by_hash(onto.objects[0].feature_node_hash)  # elsewhere in the ontology
    # An element is not its own child; a leaf has no children at all.
    with pytest.raises(OntologyError, match="no item titled 'Radio classification 1'"):
        attribute.get_child_by_title("Radio classification 1")
    with pytest.raises(OntologyError):
        option.get_child_by_title("cl 1 option 2")
    level1 = onto.get_child_by_title("Radio level 1 ", type_=RadioAttribute)
    nested_option = level1.get_child_by_hash("MTY0MzU2", type_=NestableOption)
    assert nested_option.label == "1 2 1 option 1"


def test_duplicate_titles_under_one_element_are_refused() -> None:
    onto = _all_types()
    checklist = onto.get_child_by_title("Checklist classification", type_=Classification)
    options = checklist.attributes[0].options
    options[1].label = options[0].label
    with pytest.raises(OntologyError, match="more than one item titled"):
        checklist.get_child_by_title(options[0].label)
    assert len(checklist.get_children_by_title(options[0].label)) == 2
