"""ClassificationInstance: frames, answers, and overlap rules inside a row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from predscope.exceptions import AnswerError, FrameError, LabelRowError
from predscope.objects.classification import Classification
from predscope.objects.frames import Range
from predscope.objects.label_row import LabelRowV2
from predscope.objects.label_row_metadata import LabelRowMetadata
from predscope.objects.ontology_structure import OntologyStructure
from predscope.objects.options import Option

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"


@pytest.fixture()
def ontology() -> OntologyStructure:
    return OntologyStructure.from_dict(
        json.loads((DATA / "ontology_all_types_dict.json").read_text())
    )


def _cls(ontology: OntologyStructure, title: str) -> Classification:
    return ontology.get_child_by_title(title, type_=Classification)


def _row(ontology: OntologyStructure, frames: int = 20) -> LabelRowV2:
    row = LabelRowV2(
        LabelRowMetadata(data_hash="v", data_type="video", number_of_frames=frames), ontology
    )
    row._load_labels(None)
    return row


def test_radio_answer_is_the_option(ontology: OntologyStructure) -> None:
    radio = _cls(ontology, "Radio classification 1")
    inst = radio.create_instance()
    option = radio.attributes[0].options[0]
    inst.set_answer(option)
    answer = inst.get_answer()
    assert isinstance(answer, Option)
    assert (answer.value, answer.label, answer.feature_node_hash) == (
        "cl_1_option_1",
        "cl 1 option 1",
        "MTcwMjM5",
    )
    assert inst.classification_name == "Radio classification 1"
    assert inst.feature_hash == "NzIxNTU1"


def test_text_and_checklist_answers(ontology: OntologyStructure) -> None:
    text = _cls(ontology, "Text classification").create_instance()
    text.set_answer("hello")
    assert text.get_answer() == "hello"
    with pytest.raises(AnswerError):
        text.set_answer(["not", "text"], overwrite=True)
    checklist_cls = _cls(ontology, "Checklist classification")
    checklist = checklist_cls.create_instance()
    options = checklist_cls.attributes[0].options
    checklist.set_answer(list(options))
    assert checklist.get_answer() == list(options)
    assert _cls(ontology, "Text classification").create_instance().get_answer() is None


def test_frames_and_range_list(ontology: OntologyStructure) -> None:
    inst = _cls(ontology, "Text classification").create_instance()
    inst.set_for_frames([0, 1, 2, 7], confidence=0.25, manual_annotation=False)
    assert inst.range_list == [Range(0, 2), Range(7, 7)]
    annotations = inst.get_annotations()
    assert [a.frame for a in annotations] == [0, 1, 2, 7]
    assert {a.confidence for a in annotations} == {0.25}
    assert not annotations[0].manual_annotation
    with pytest.raises(LabelRowError, match="overwrite"):
        inst.set_for_frames(2)


def test_same_classification_cannot_overlap_in_a_row(ontology: OntologyStructure) -> None:
    row = _row(ontology)
    cls = _cls(ontology, "Text classification")
    first = cls.create_instance()
    first.set_for_frames(Range(0, 4))
    row.add_classification_instance(first)
    second = cls.create_instance()
    second.set_for_frames(Range(4, 6))
    with pytest.raises(LabelRowError, match="already on frame 4"):
        row.add_classification_instance(second)
    row.add_classification_instance(second, force=True)
    assert len(row.get_classification_instances(filter_ontology_classification=cls)) == 2
    third = cls.create_instance()
    row.add_classification_instance(third)
    with pytest.raises(LabelRowError):
        third.set_for_frames(5)
    third.set_for_frames(10)
    other = _cls(ontology, "Checklist classification").create_instance()
    other.set_for_frames(Range(0, 4))
    row.add_classification_instance(other)  # a different classification may overlap
    assert len(row.get_classification_instances(filter_frames=4)) == 3


def test_classification_frames_must_exist(ontology: OntologyStructure) -> None:
    row = _row(ontology, frames=5)
    inst = _cls(ontology, "Text classification").create_instance()
    row.add_classification_instance(inst)
    with pytest.raises(FrameError):
        inst.set_for_frames(5)


def test_remove_classification(ontology: OntologyStructure) -> None:
    row = _row(ontology)
    inst = _cls(ontology, "Text classification").create_instance()
    inst.set_for_frames(0)
    row.add_classification_instance(inst)
    row.remove_classification(inst)
    assert row.get_classification_instances() == []
    assert not inst.is_assigned_to_label_row()
