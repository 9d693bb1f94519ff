"""Branch semantics of list_label_rows_v2 (reference section 3), on both stores."""

from __future__ import annotations

import pytest

from predscope.exceptions import BranchNameError, InvalidArgumentsError
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.label_row import LabelRowV2
from predscope.sdk.project import Project


def _box(project: Project, row: LabelRowV2, confidence: float = 0.5) -> None:
    inst = project.ontology_structure.get_child_by_title("box").create_instance()
    inst.set_for_frames(
        BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=0.1, top_left_y=0.1),
        frames=0,
        confidence=confidence,
        manual_annotation=False,
    )
    row.add_object_instance(inst)


def test_new_branch_lists_one_placeholder_per_unit(project: Project) -> None:
    rows = project.list_label_rows_v2(branch_name="model-a")
    assert [r.data_title for r in rows] == ["a.jpg", "b.jpg", "c.jpg", "clip.mp4"]
    assert all(r.label_hash is None and r.branch_name == "model-a" for r in rows)
    assert project.list_branches() == []


def test_initialise_creates_the_row_on_its_branch(project: Project) -> None:
    row = project.list_label_rows_v2(branch_name="model-a")[0]
    row.initialise_labels()
    assert row.label_hash is not None and row.branch_name == "model-a"
    _box(project, row)
    row.save()
    assert project.list_branches() == ["model-a"]
    again = project.list_label_rows_v2(branch_name="model-a")
    assert again[0].label_hash == row.label_hash
    assert [r.label_hash is None for r in again[1:]] == [True, True, True]
    # main is untouched: listing without a branch means main
    assert all(
        r.label_hash is None and r.branch_name == "main" for r in project.list_label_rows_v2()
    )


def test_all_branches_lists_existing_rows_and_main_placeholders(project: Project) -> None:
    a_main = project.list_label_rows_v2(data_title_eq="a.jpg")[0]
    a_main.initialise_labels()
    a_main.save()
    with project.create_bundle() as bundle:
        for row in project.list_label_rows_v2(branch_name="model-b")[:2]:
            row.initialise_labels(bundle=bundle)
    rows = project.list_label_rows_v2(include_all_label_branches=True)
    got = [(r.data_title, r.branch_name, r.label_hash is not None) for r in rows]
    assert got == [
        ("a.jpg", "main", True),
        ("a.jpg", "model-b", True),
        ("b.jpg", "model-b", True),
        ("c.jpg", "main", False),
        ("clip.mp4", "main", False),
    ]
    assert project.list_branches() == ["main", "model-b"]


def test_all_branches_with_branch_name_is_refused(project: Project) -> None:
    with pytest.raises(InvalidArgumentsError, match="cannot be combined"):
        project.list_label_rows_v2(include_all_label_branches=True, branch_name="main")


def test_illegal_branch_names_state_the_rule(project: Project) -> None:
    for name in ["has space", "a/b", "ümlaut", "", "semi;colon", "tab\t"]:
        with pytest.raises(BranchNameError, match="letters, digits, '-', '_' and '.'"):
            project.list_label_rows_v2(branch_name=name)
    with pytest.raises(BranchNameError, match="at most"):
        project.list_label_rows_v2(branch_name="x" * 201)
    with pytest.raises(BranchNameError):
        project.copy_labels_to_branch("bad name")


def test_branch_names_are_case_sensitive_and_consensus_is_legal(project: Project) -> None:
    for name in ("Preds", "preds", "encord-annotator.1", "v1.2_final-x"):
        row = project.list_label_rows_v2(branch_name=name, data_title_eq="b.jpg")[0]
        row.initialise_labels()
        row.save()
    assert project.list_branches() == ["Preds", "encord-annotator.1", "preds", "v1.2_final-x"]
    upper = project.list_label_rows_v2(branch_name="Preds", data_title_eq="b.jpg")[0]
    lower = project.list_label_rows_v2(branch_name="preds", data_title_eq="b.jpg")[0]
    assert upper.label_hash != lower.label_hash


def test_filters(project: Project) -> None:
    rows = project.list_label_rows_v2(branch_name="f")
    with project.create_bundle() as bundle:
        for row in rows[:2]:
            row.initialise_labels(bundle=bundle)
    assert [r.data_title for r in project.list_label_rows_v2(data_title_like="%.jpg")] == [
        "a.jpg",
        "b.jpg",
        "c.jpg",
    ]
    by_hash = project.list_label_rows_v2(branch_name="f", data_hashes=[rows[1].data_hash])
    assert [r.data_title for r in by_hash] == ["b.jpg"]
    by_label = project.list_label_rows_v2(label_hashes=[str(rows[0].label_hash)], branch_name="f")
    assert [r.label_hash for r in by_label] == [rows[0].label_hash]
    edited = project.list_label_rows_v2(branch_name="f", edited_after="2000-01-01 00:00:00")
    assert [r.data_title for r in edited] == ["a.jpg", "b.jpg"]
    assert project.list_label_rows_v2(branch_name="f", edited_before="2000-01-01") == []
    assert len(project.list_label_rows_v2(branch_name="f", label_statuses=["NOT_LABELLED"])) == 4
    assert project.list_label_rows_v2(shadow_data_state="SHADOW_DATA") == []
    with pytest.raises(InvalidArgumentsError, match="not a date"):
        project.list_label_rows_v2(edited_after="yesterday-ish")
    with pytest.raises(InvalidArgumentsError, match="no workflow"):
        project.list_label_rows_v2(workflow_graph_node_title_eq="Annotate")


def test_copy_labels_to_branch(project: Project) -> None:
    rows = project.list_label_rows_v2()
    with project.create_bundle() as bundle:
        for row in rows[:2]:
            row.initialise_labels(bundle=bundle)
    for row in rows[:2]:
        _box(project, row, confidence=0.25)
    with project.create_bundle() as bundle:
        for row in rows[:2]:
            row.save(bundle=bundle)
    assert project.copy_labels_to_branch("copy") == 2
    assert project.copy_labels_to_branch("copy") == 0  # already there, no overwrite
    assert project.copy_labels_to_branch("copy", overwrite=True) == 2
    copied = [r for r in project.list_label_rows_v2(branch_name="copy") if r.label_hash]
    assert len(copied) == 2
    for row in copied:
        row.initialise_labels()
        [inst] = row.get_object_instances()
        assert inst.get_annotations()[0].confidence == 0.25
        assert row.to_encord_dict()["branch_name"] == "copy"
    with pytest.raises(InvalidArgumentsError, match="both"):
        project.copy_labels_to_branch("main")
