"""The three guide scripts, ported by changing only imports and the client line, run as programs
against a project made from the real skimage photos, and do what the guide says.

The scripts keep the guide's constants verbatim (project "unique-id-for-project", branch
"name-of-your-prediction-branch", "COCOimportfile.json"), so the tests build a store whose
project has that title, point ``$PREDSCOPE_HOME`` at it and run each script in a folder that
holds the COCO file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from predscope.objects.classification import Classification
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.ontology_object import Object
from predscope.sdk.client import Client
from predscope.sdk.project import Project

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "examples" / "guide"
SKIMAGE = ROOT / "data" / "skimage-images"
IMAGES = sorted((SKIMAGE / "images").iterdir())
PROJECT = "unique-id-for-project"  # the guide's PROJECT_HASH; get_project also takes a title
VERIFY_PROJECT = "unique-id-for-your-project"  # the verify script's own PROJECT_HASH
BRANCH = "name-of-your-prediction-branch"
SCRIPTS = ("import_coco_predictions.py", "store_predictions.py", "verify_import.py")

# -- the port is the guide's text with only the import and client lines changed ------------

# sha256 of each guide script in ../shared/reference/guide-scripts (read once, when porting).
GUIDE_SHA256 = {
    "import_coco_predictions.py": "6991c45669daa637be32713dbf36e99d4eae8fd470ddad587ef7ea143a50b0ce",  # noqa: E501
    "store_predictions.py": "125e48bae99926f191c31110da31b67364838ee5e1e6014f4de983e758861982",
    "verify_import.py": "5236fe4c4a9f0d77531b27734525d746ec265328c838895677da0aed6f424347",
}
_AUTH_CALL = (
    "EncordUserClient.create_with_ssh_private_key(\n    ssh_private_key_path=SSH_PATH,\n)\n"
)
# (ported text, guide text): the only substitutions allowed, undone in this order.
ALLOWED = [
    ("import predscope\nfrom predscope import Project\n",
     "from encord import EncordUserClient, Project\n"),
    ("import predscope\n", "from encord import EncordUserClient\n"),
    ("\nfrom predscope.", "\nfrom encord."),
    ("user_client: predscope.Client = predscope.Client()\n",
     "user_client: EncordUserClient = " + _AUTH_CALL),
    ("user_client = predscope.Client()\n", "user_client = " + _AUTH_CALL),
]  # fmt: skip


def _unported(text: str) -> str:
    for ported, guide in ALLOWED:
        text = text.replace(ported, guide)
    return text


@pytest.mark.parametrize("name", SCRIPTS)
def test_port_changes_only_imports_and_the_client_line(name: str) -> None:
    text = (GUIDE / name).read_text(encoding="utf-8")
    assert "os.environ" not in text and "getenv" not in text
    assert "user_client" in text and "predscope.Client()" in text
    project_line = f'PROJECT_HASH = "{VERIFY_PROJECT if name == "verify_import.py" else PROJECT}"'
    assert project_line in text.splitlines()
    if name != "verify_import.py":
        assert f'PREDICTION_BRANCH_NAME = "{BRANCH}"' in text.splitlines()
    digest = hashlib.sha256(_unported(text).encode("utf-8")).hexdigest()
    assert digest == GUIDE_SHA256[name], (
        f"{name} differs from the guide's script in more than its import and client lines"
    )


# -- running the scripts -----------------------------------------------------------------

# Each test below runs the scripts as separate Python processes: marked slow.


def _run(
    script: str, store: Path, workdir: Path, *, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREDSCOPE_")}
    env["PREDSCOPE_HOME"] = str(store)
    done = subprocess.run(
        [sys.executable, str(GUIDE / script)],
        env=env, capture_output=True, text=True, timeout=120, cwd=workdir, check=False,
    )  # fmt: skip
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def _make_project(client: Client, title: str) -> Project:
    project = client.create_project(title, ontology=GUIDE / "ontology.json")
    project.add_data(IMAGES)
    return project


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store with the photos and some ground truth on main (an object with an attribute answer
    and a classification), so the verify listing has every kind of line to print."""
    folder = tmp_path / "store"
    with Client(folder) as client:
        _ground_truth(_make_project(client, PROJECT))
    return folder


def _ground_truth(project: Project) -> None:
    ontology = project.ontology_structure
    [row] = project.list_label_rows_v2(data_title_eq="astronaut.png")
    row.initialise_labels()
    face = ontology.get_child_by_title("face", type_=Object)
    inst = face.create_instance()
    inst.set_for_frames(
        BoundingBoxCoordinates(height=0.18, width=0.18, top_left_x=0.35, top_left_y=0.15),
        frames=0,
    )
    occluded = face.attributes[0]
    inst.set_answer(occluded.options[1], attribute=occluded)
    row.add_object_instance(inst)
    scene = ontology.get_child_by_title("scene", type_=Classification)
    cls = scene.create_instance()
    cls.set_answer(scene.attributes[0].options[1])
    cls.set_for_frames(frames=0)
    row.add_classification_instance(cls)
    row.save()


@pytest.mark.slow
def test_store_predictions_puts_one_box_on_every_unit(store: Path, tmp_path: Path) -> None:
    out = _run("store_predictions.py", store, tmp_path).stdout
    assert out.splitlines() == [
        f"Branch is: {BRANCH}",
        f"Stored {len(IMAGES)} predictions on branch {BRANCH!r}",
    ]
    with Client(store) as client:
        project = client.get_project(PROJECT)
        assert project.list_branches() == ["main", BRANCH]
        rows = project.list_label_rows_v2(branch_name=BRANCH)
        assert sorted(r.data_title for r in rows) == sorted(p.name for p in IMAGES)
        bundle = project.create_bundle()
        for row in rows:
            row.initialise_labels(bundle=bundle)
        bundle.execute()
        for row in rows:
            [inst] = row.get_object_instances()
            assert inst.ontology_item is project.ontology_structure.objects[0]
            [ann] = inst.get_annotations()
            assert (ann.frame, ann.confidence, ann.manual_annotation) == (0, 0.8, False)
            assert ann.coordinates == BoundingBoxCoordinates(
                height=0.1, width=0.1, top_left_x=0.5, top_left_y=0.5
            )
    # Running again adds a second box per row (the guide's script appends).
    _run("store_predictions.py", store, tmp_path)
    with Client(store) as client:
        rows = client.get_project(PROJECT).list_label_rows_v2(branch_name=BRANCH)
        rows[0].initialise_labels()
        assert len(rows[0].get_object_instances()) == 2


def _copy_project(store: Path, tmp_path: Path) -> None:
    """The verify script names its own project: give it a copy of every branch's rows."""
    with Client(store) as client:
        source = client.get_project(PROJECT)
        target = _make_project(client, VERIFY_PROJECT)
        for branch in source.list_branches():
            path = tmp_path / f"{branch}.json"
            path.write_text(json.dumps(source.export_encord(branch_name=branch)))
            target.import_encord(path, branch_name=branch)


@pytest.mark.slow
def test_verify_lists_every_row_on_every_branch(store: Path, tmp_path: Path) -> None:
    _run("store_predictions.py", store, tmp_path)
    _copy_project(store, tmp_path)
    out = _run("verify_import.py", store, tmp_path).stdout
    titles = [line for line in out.splitlines() if line.startswith("Title: ")]
    expected = ["Title: astronaut.png, branch: main"] + [
        f"Title: {p.name}, branch: {BRANCH}" for p in IMAGES
    ]
    assert sorted(titles) == sorted(expected)
    # astronaut: main first, then the prediction branch
    assert titles.index("Title: astronaut.png, branch: main") < titles.index(
        f"Title: astronaut.png, branch: {BRANCH}"
    )
    assert out.count("Object name: face") == len(IMAGES) + 1
    assert out.count("featureHash: ZmFjZTAx") == len(IMAGES) + 1
    assert out.count("Ontology shape: bounding_box") == len(IMAGES) + 1
    assert out.count("Object color: #D33115") == len(IMAGES) + 1
    assert out.count("uid: 1") >= len(IMAGES) + 1
    assert out.count("  confidence: 0.8, manual: False") == len(IMAGES)
    assert out.count("  confidence: 1.0, manual: True") == 1
    assert "Frame 0 -> BoundingBoxCoordinates(height=0.18, width=0.18" in out
    answers = [line for line in out.splitlines() if line.startswith("  answer: ")]
    assert len(answers) == len(IMAGES) + 1
    # the ground-truth face's radio answer is the option "no" (hash bm8wMDAx); predictions have none
    assert sum("feature_node_hash='bm8wMDAx'" in line for line in answers) == 1
    assert sum(line == "  answer: None" for line in answers) == len(IMAGES)
    assert "Classification name: scene" in out
    assert "featureHash: c2NlbmUx" in out
    assert "Classification answer: outdoor" in out
    assert "Classification answer hash: b3V0ZG9v" in out
    assert "Classification appears on frame: 0" in out


def _coco_dataset(folder: Path) -> list[dict[str, Any]]:
    """The guide's COCOimportfile.json in ``folder``: both detectors' faces, with scores."""
    images = json.loads((SKIMAGE / "images_coco.json").read_text())
    annotations: list[dict[str, Any]] = []
    for name in ("pred_mediapipe_0.10.21.json", "pred_opencv_haar_hog.json"):
        for ann in json.loads((SKIMAGE / name).read_text()):
            x, y, w, h = ann["bbox"]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": ann["image_id"],
                    "category_id": ann["category_id"],
                    "bbox": ann["bbox"],
                    "area": w * h,
                    "iscrowd": 0,
                    "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                    "score": ann["score"],
                }
            )
    dataset = {"images": images["images"], "categories": images["categories"]}
    dataset["annotations"] = annotations
    (folder / "COCOimportfile.json").write_text(json.dumps(dataset))
    return annotations


def _stored_scores(store: Path) -> list[tuple[str, float]]:
    with Client(store) as client:
        project = client.get_project(PROJECT)
        rows = [r for r in project.list_label_rows_v2(branch_name=BRANCH) if r.label_hash]
        bundle = project.create_bundle()
        for row in rows:
            row.initialise_labels(bundle=bundle)
        bundle.execute()
        return sorted(
            (row.data_title, ann.confidence)
            for row in rows
            for inst in row.get_object_instances()
            for ann in inst.get_annotations()
        )


@pytest.mark.slow
def test_import_coco_predictions(store: Path, tmp_path: Path) -> None:
    annotations = _coco_dataset(tmp_path)
    out = _run("import_coco_predictions.py", store, tmp_path).stdout
    assert f"Imported {len(annotations)} COCO annotations onto branch {BRANCH!r}" in out
    images = {i["id"]: i for i in json.loads((SKIMAGE / "images_coco.json").read_text())["images"]}
    want = sorted((images[a["image_id"]]["file_name"], a["score"]) for a in annotations)
    assert _stored_scores(store) == want  # every score kept exactly, Haar's unbounded 7.4477 too
    with Client(store) as client:
        project = client.get_project(PROJECT)
        [astronaut] = project.list_label_rows_v2(branch_name=BRANCH, data_title_eq="astronaut.png")
        astronaut.initialise_labels()
        faces = [
            i.get_annotations()[0].coordinates
            for i in astronaut.get_object_instances()
            if i.object_name == "face"
        ]
    assert any(
        c.top_left_x == pytest.approx(177 / 512) and c.width == pytest.approx(93 / 512)
        for c in faces
    )
    # The guide's script is meant to run once: predscope refuses a second run of the same file
    # (Encord would store every prediction twice) and the branch keeps the first run's labels.
    again = _run("import_coco_predictions.py", store, tmp_path, ok=False)
    assert again.returncode != 0 and "BranchHasLabelsError" in again.stderr
    assert _stored_scores(store) == want
