"""Audit of issue 2: ontology behaviours Encord's SDK has that predscope lacks (strict xfails,
they pass once fixed) and the exact round trip of well-formed Encord ontology JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import OntologyError
from predscope.objects.attributes import ChecklistAttribute, RadioAttribute
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


@pytest.mark.xfail(
    strict=True,
    reason="gap: an attribute id that is not a dotted integer string is silently read as uid []"
    " and written back as '' (data lost); Encord's parser refuses it",
)
@pytest.mark.parametrize("uid", ["x.y", [1, 1]])
def test_malformed_attribute_id_is_refused(uid: Any) -> None:
    with pytest.raises(OntologyError, match="id"):
        OntologyStructure.from_dict(_with_attribute_id(uid))


@pytest.mark.xfail(
    strict=True,
    reason="gap: Object has no get_child_by_title/get_child_by_hash (Encord's ontology elements"
    " do, and ported scripts use them to reach an object's own attributes)",
)
def test_object_finds_its_nested_attributes_and_options() -> None:
    onto = _all_types()
    polygon = onto.get_child_by_title("Deeply Nested Polygon", type_=Object)
    level2 = polygon.get_child_by_title("1 2 radio 1", type_=RadioAttribute)  # type: ignore[attr-defined]
    assert level2.feature_node_hash == "NDYyMjQx"
    option = polygon.get_child_by_hash("MTY0MzU2", type_=NestableOption)  # type: ignore[attr-defined]
    assert option.label == "1 2 1 option 1"
    box = onto.get_child_by_title("Nested Box", type_=Object)
    with pytest.raises(OntologyError):
        box.get_child_by_title("1 2 radio 1")  # type: ignore[attr-defined]  # not under this object
    assert box.get_child_by_title("Mood", type_=ChecklistAttribute).uid == [5, 2]  # type: ignore[attr-defined]
