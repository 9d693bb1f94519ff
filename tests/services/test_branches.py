"""The one branch-existence check: listing, export and evaluation refuse a missing branch alike."""

from __future__ import annotations

import pytest

from predscope.exceptions import BranchNameError, ResourceNotFoundError
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.sdk.client import Client
from predscope.sdk.project import Project
from predscope.services.analysis.evaluate import evaluate_branch
from predscope.services.branches import require_branch
from predscope.services.exports.coco import export_coco
from predscope.services.exports.listing import load_stored_rows
from tests.sdk.sdk_data import ONTOLOGY, UNITS


def _project_with_branch(client: Client, branch: str) -> Project:
    project = client.create_project("P", ontology=ONTOLOGY)
    project.add_data(UNITS[:1])
    [row] = project.list_label_rows_v2(branch_name=branch)
    row.initialise_labels()
    inst = project.ontology_structure.get_child_by_title("box").create_instance()
    box = BoundingBoxCoordinates(height=0.2, width=0.3, top_left_x=0.1, top_left_y=0.4)
    inst.set_for_frames(box, frames=0, confidence=0.9)
    row.add_object_instance(inst)
    row.save()
    return project


def test_missing_branch_is_one_error_everywhere(store_url: str) -> None:
    with Client(store_url) as client:
        project = _project_with_branch(client, "model-a")
        store, record = client.store, project.record
        with store.read() as conn:
            require_branch(conn, record, "model-a")
            require_branch(conn, record, "main")  # main exists, empty until labels are written
            with pytest.raises(ResourceNotFoundError) as direct:
                require_branch(conn, record, "Model-a")
            with pytest.raises(ResourceNotFoundError) as empty_main:
                require_branch(conn, record, "main", allow_empty_main=False)
            with pytest.raises(BranchNameError):
                require_branch(conn, record, "")
        expected = "project P has no rows on branch 'Model-a'; its branches are: model-a"
        assert str(direct.value).startswith(expected)
        assert "case-sensitive" in str(direct.value)
        assert "--ground-truth" in str(empty_main.value)
        # Before the shared check, evaluation said "holds no label rows" and listing another text.
        with pytest.raises(ResourceNotFoundError) as listed:
            load_stored_rows(store, record, branch_name="Model-a")
        with pytest.raises(ResourceNotFoundError) as exported:
            export_coco(store, record, branch_name="Model-a", results=True)
        with pytest.raises(ResourceNotFoundError) as evaluated:
            evaluate_branch(store, record, "Model-a", gt_branch="model-a")
        assert str(listed.value) == str(exported.value) == str(evaluated.value) == str(direct.value)
