"""The README's main job: a real project from the scikit-image photos, measured end to end.

It walks the guide's workflow with predscope's own services: create a project from an Encord
ontology, register real images, import hand-drawn ground truth to ``main`` and three offline
detectors' COCO results as prediction branches, add a scene classification through the label-row
API, then evaluate every branch against ``main`` with the one evaluation engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predscope.objects.classification import Classification
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

if TYPE_CHECKING:
    from predscope.services.analysis.evaluate import BranchEvaluation
    from predscope.services.imports.report import ImportReport

PROJECT_TITLE = "skimage-demo"
# Marks the project as the demo's own: only a project with this title and description is replaced.
PROJECT_DESCRIPTION = "scikit-image photos, three detectors"

# (branch, predictions file): each file is one real detector's output on the photos.
PREDICTION_BRANCHES = (
    ("opencv-haar-hog", "pred_opencv_haar_hog.json"),
    ("mediapipe-0.10.21", "pred_mediapipe_0.10.21.json"),
    ("rapidocr-1.4.4", "pred_rapidocr_1.4.4.json"),
)

# Scene of each photo, the ground truth of the demo's radio classification.
SCENES = {"astronaut.png": "portrait", "camera.png": "portrait", "page.png": "document"}


@dataclass(frozen=True)
class BranchResult:
    """What the demo reports for one prediction branch."""

    branch: str
    detections: int
    stats: dict[str, float]
    per_class: list[dict[str, Any]]
    outcomes_at_50: dict[str, int]  # tp / fp / fn / ignored at IoU 0.5, area all


@dataclass(frozen=True)
class DemoResult:
    project: ProjectRecord
    data_units: int
    branches: list[str]
    ground_truth_objects: int
    results: list[BranchResult]


Say = Callable[[str], None]


def run_demo(store: Store, data_dir: Path, *, say: Say = lambda _: None) -> DemoResult:
    """Build the demo project in ``store`` and evaluate it.

    An earlier demo project in the store is removed first, through the same removal (and history
    record) as ``client.remove_project``; nothing else in the store is touched.
    """
    from predscope.services.analysis.evaluate import evaluate_branch
    from predscope.services.imports.coco import import_coco
    from predscope.services.imports.options import ImportOptions
    from predscope.services.projects import add_data, create_project, list_projects
    from predscope.services.removal import remove_project

    for earlier in list_projects(store):
        if earlier.title != PROJECT_TITLE:
            continue
        if earlier.description != PROJECT_DESCRIPTION:
            raise_existing(store)
        remove_project(store, earlier, force=True, origin="demo")
        say(f"removed the earlier demo project {earlier.title!r} ({earlier.project_hash})")
    ontology = json.loads((data_dir / "demo_ontology.json").read_text(encoding="utf-8"))
    project = create_project(store, PROJECT_TITLE, ontology, PROJECT_DESCRIPTION)
    say(f"created project {project.title!r} ({project.project_hash})")

    images = sorted((data_dir / "images").iterdir())
    units = add_data(store, project, images)
    say(f"registered {len(units)} images (sizes read from the files; pixels stay in place)")

    gt = import_coco(
        store, project, data_dir / "demo_ground_truth.json", ImportOptions(ground_truth=True)
    )
    gt_objects = _objects_written(gt)
    say(f"imported {gt_objects} ground-truth objects to branch 'main'")

    _add_scene_classifications(store, project)
    say(f"added a 'scene' classification to {len(SCENES)} rows on 'main' through LabelRowV2")

    results = []
    for branch, file_name in PREDICTION_BRANCHES:
        report = import_coco(
            store,
            project,
            data_dir / file_name,
            ImportOptions(branch=branch),
            gt_path=data_dir / "images_coco.json",
        )
        written = _objects_written(report)
        say(f"imported {written} predictions from {file_name} to branch {branch!r}")
        evaluation = evaluate_branch(store, project, branch, gt_branch="main", iou_type="bbox")
        results.append(_branch_result(branch, written, evaluation))
    return DemoResult(
        project=project,
        data_units=len(units),
        branches=["main", *[b for b, _ in PREDICTION_BRANCHES]],
        ground_truth_objects=gt_objects,
        results=results,
    )


def raise_existing(store: Store) -> None:
    from predscope.exceptions import ResourceExistsError

    raise ResourceExistsError(
        f"store {store.location}: already holds a project {PROJECT_TITLE!r} that is not the "
        "demo's (its description differs), so the demo leaves it alone - run the demo with "
        "another --store folder, or rename that project"
    )


def _objects_written(report: ImportReport) -> int:
    return report.objects


def _add_scene_classifications(store: Store, project: ProjectRecord) -> None:
    """Answer the radio classification on ``main`` the way an SDK user would."""
    from predscope.objects.bundle import Bundle
    from predscope.services.rows import list_label_rows

    ontology = OntologyStructure.from_dict(project.ontology)
    scene = ontology.get_child_by_title("scene", type_=Classification)
    attribute = scene.attributes[0]
    rows: list[LabelRowV2] = [
        r
        for r in list_label_rows(store, project, ontology, branch_name="main")
        if r.data_title in SCENES
    ]
    with Bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    with Bundle() as bundle:
        for row in rows:
            instance = scene.create_instance()
            option = next(o for o in attribute.options if o.value == SCENES[row.data_title])
            instance.set_answer(option)
            instance.set_for_frames(frames=0)
            row.add_classification_instance(instance)
            row.save(bundle=bundle)


def _branch_result(branch: str, detections: int, evaluation: BranchEvaluation) -> BranchResult:
    stats = {k: float(v) for k, v in evaluation.stats.items()}
    return BranchResult(
        branch=branch,
        detections=detections,
        stats=stats,
        per_class=evaluation.per_class_rows(),
        outcomes_at_50=evaluation.evaluation.outcomes.counts(0.5),
    )
