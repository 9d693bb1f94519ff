"""The README's main job: a real project from the scikit-image photos, analysed end to end.

It walks the guide's workflow with predscope's own services: create a project from an Encord
ontology, register real images, import the measured ground truth (48 objects) to ``main`` and
three offline detectors' COCO results as prediction branches, add a scene classification through
the label-row API, then analyse every branch against ``main`` as ``predscope analyse`` does
(``services.analysis.runs``: stored runs, every object's outcome kept for the query layer and the
server). ``predscope demo --scale N`` builds a generated project instead (``demo_scale``) and
analyses it the same way. Both report to ``say`` (one line per step) and ``progress`` (bars);
the CLI decides what a person sees.

Only the demo's own earlier project (same title *and* description) is ever removed, through the
same removal (and history record) as ``client.remove_project``; nothing else in the store is
touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predscope.objects.classification import Classification
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.progress import Progress
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

PROJECT_TITLE = "skimage-demo"
# Marks the project as the demo's own: only a project with this title and description is replaced.
PROJECT_DESCRIPTION = "scikit-image photos, three detectors"
ONTOLOGY_FILE = "photos_ontology.json"
GROUND_TRUTH_FILE = "photos_ground_truth.json"
IMAGE_LIST_FILE = "images_coco.json"  # the image list the detectors' results refer to

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
    """What the demo reports for one prediction branch (from its stored analysis run)."""

    branch: str
    detections: int
    stats: dict[str, float]
    per_class: list[dict[str, Any]]  # classes with ground truth or predictions
    outcomes_at_50: dict[str, int]  # tp / fp / fn / ignored at IoU 0.5, area all
    run_id: int


@dataclass(frozen=True)
class DemoResult:
    project: ProjectRecord
    data_units: int
    branches: list[str]
    ground_truth_objects: int
    results: list[BranchResult]


Say = Callable[[str], None]


def _quiet(_: str) -> None:
    """The ``say`` of a demo nobody reads."""


def run_demo(
    store: Store,
    data_dir: Path,
    *,
    say: Say = _quiet,
    progress: Progress | None = None,
) -> DemoResult:
    """Build the photo demo project in ``store`` and analyse every prediction branch."""
    from predscope.services.imports.coco import import_coco
    from predscope.services.imports.options import ImportOptions
    from predscope.services.projects import add_data, create_project

    replace_own_project(store, PROJECT_TITLE, PROJECT_DESCRIPTION, say)
    ontology = json.loads((data_dir / ONTOLOGY_FILE).read_text(encoding="utf-8"))
    project = create_project(store, PROJECT_TITLE, ontology, PROJECT_DESCRIPTION)
    say(f"created project {project.title!r} ({project.project_hash})")

    images = sorted((data_dir / "images").iterdir())
    units = add_data(store, project, images, progress=progress)
    say(f"registered {len(units)} images (sizes read from the files; pixels stay in place)")

    gt = import_coco(
        store,
        project,
        data_dir / GROUND_TRUTH_FILE,
        ImportOptions(ground_truth=True),
        progress=progress,
    )
    say(f"imported {gt.objects} ground-truth objects to branch 'main'")

    _add_scene_classifications(store, project)
    say(f"added a 'scene' classification to {len(SCENES)} rows on 'main' through LabelRowV2")

    branches = []
    for branch, file_name in PREDICTION_BRANCHES:
        report = import_coco(
            store,
            project,
            data_dir / file_name,
            ImportOptions(branch=branch),
            gt_path=data_dir / IMAGE_LIST_FILE,
            progress=progress,
        )
        say(f"imported {report.objects} predictions from {file_name} to branch {branch!r}")
        branches.append(branch)
    results = analyse_branches(store, project, branches, say=say, progress=progress)
    return DemoResult(
        project=project,
        data_units=len(units),
        branches=["main", *branches],
        ground_truth_objects=gt.objects,
        results=results,
    )


def replace_own_project(store: Store, title: str, description: str, say: Say) -> None:
    """Remove an earlier project the demo made (title and description match); refuse any other
    project of that title, which is the user's."""
    from predscope.services.projects import list_projects
    from predscope.services.removal import remove_project

    for earlier in list_projects(store):
        if earlier.title != title:
            continue
        if earlier.description != description:
            raise_existing(store, title)
        remove_project(store, earlier, force=True, origin="demo")
        say(f"removed the earlier demo project {earlier.title!r} ({earlier.project_hash})")


def raise_existing(store: Store, title: str = PROJECT_TITLE) -> None:
    from predscope.exceptions import ResourceExistsError

    raise ResourceExistsError(
        f"store {store.location}: already holds a project {title!r} that is not the "
        "demo's (its description differs), so the demo leaves it alone - run the demo with "
        "another --store folder, or rename that project"
    )


def analyse_branches(
    store: Store,
    project: ProjectRecord,
    branches: Sequence[str],
    *,
    say: Say = _quiet,
    progress: Progress | None = None,
) -> list[BranchResult]:
    """Analyse each branch against ``main`` as ``predscope analyse`` does (a stored run each),
    and read back the stored metrics document ``predscope metrics`` prints."""
    from predscope.services.analysis.metrics import get_metrics
    from predscope.services.analysis.runs import analyse

    results = []
    for branch in branches:
        outcome = analyse(store, project, branch, progress=progress)
        doc = get_metrics(store, project, branch)
        result = branch_result(branch, doc)
        say(
            f"analysed {branch!r} against 'main' (run {outcome.run.id}, "
            f"{outcome.total_units} units): AP {result.stats['AP']:.3f}, "
            f"AP50 {result.stats['AP50']:.3f}"
        )
        results.append(result)
    return results


def branch_result(branch: str, doc: dict[str, Any]) -> BranchResult:
    """The demo's summary of a stored metrics document."""
    at_50 = next(c for c in doc["counts"] if c["iou"] == 0.5)
    return BranchResult(
        branch=branch,
        detections=int(doc["predictions"]),
        stats={k: float(v) for k, v in doc["stats"].items()},
        per_class=[c for c in doc["classes"] if c["num_gt"] or c["num_predictions"]],
        outcomes_at_50={k: int(at_50[k]) for k in ("tp", "fp", "fn", "ignored")},
        run_id=int(doc["run"]["id"]),
    )


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
