"""The guide's COCO script, ported (imports and client line only), runs against a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import open_store
from tests.services.coco_fixtures import DATA, SKIMAGE

SCRIPT = DATA.parent / "examples" / "guide" / "import_coco_predictions.py"


@pytest.mark.skipif(
    not SCRIPT.is_file(), reason="examples/guide/import_coco_predictions.py missing"
)
def test_guide_coco_script_runs_and_refuses_a_second_run(tmp_path: Path) -> None:
    catalogue = json.loads((SKIMAGE / "images_coco.json").read_text())
    preds = json.loads((SKIMAGE / "pred_opencv_haar_hog.json").read_text())
    dataset = dict(catalogue)
    dataset["annotations"] = [
        {"id": i + 1, "area": p["bbox"][2] * p["bbox"][3], "iscrowd": 0, "segmentation": [], **p}
        for i, p in enumerate(preds)
    ]
    coco_file = tmp_path / "COCOimportfile.json"  # the name the script keeps from the guide
    coco_file.write_text(json.dumps(dataset))
    home = tmp_path / "home"
    store = open_store(str(home))
    ontology = json.loads((SCRIPT.parent / "ontology.json").read_text())
    project = create_project(store, "unique-id-for-project", ontology)  # the guide's PROJECT_HASH
    add_data(
        store,
        project,
        [
            {"title": im["file_name"], "width": im["width"], "height": im["height"]}
            for im in catalogue["images"]
        ],
    )
    env = {**os.environ, "PREDSCOPE_HOME": str(home)}
    branch = "name-of-your-prediction-branch"  # the guide's PREDICTION_BRANCH_NAME
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"Imported 10 COCO annotations onto branch {branch!r}" in done.stdout
    onto = OntologyStructure.from_dict(project.ontology)
    rows = [r for r in list_label_rows(store, project, onto, branch_name=branch) if r.label_hash]
    confidences = []
    for row in rows:
        row.initialise_labels()
        for inst in row.get_object_instances():
            ann = inst.get_annotation(0)
            confidences.append(ann.confidence)
            assert ann.manual_annotation is False
    assert sorted(confidences) == sorted(p["score"] for p in preds)
    # Encord would store every prediction twice on a second run; predscope refuses.
    again = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode != 0 and "BranchHasLabelsError" in again.stderr
    # The refusal advises parameters import_coco_labels really has.
    assert "replace=True" in again.stderr and "append=True" in again.stderr
    store.close()
