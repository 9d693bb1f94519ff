"""``create_project_from_coco``: ontology, units and ground truth from one file, all or nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import ImportFormatError, InvalidArgumentsError, ResourceExistsError
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.analysis.evaluate import evaluate_branch
from predscope.services.imports.coco import import_coco
from predscope.services.imports.onboard import create_project_from_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import list_data_units, list_projects
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store, open_store

DATA = Path(__file__).resolve().parents[3] / "data"
COCO100 = DATA / "coco-val2014-100"
INSTANCES = COCO100 / "instances_val2014_100.json"
SKIMAGE = DATA / "skimage-images"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _expected(kind: str) -> dict[str, float]:
    data: dict[str, Any] = json.loads((COCO100 / "expected_published.json").read_text())
    return dict(data[kind])


def _instances() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(INSTANCES.read_text())
    return data


def _write(tmp_path: Path, data: Any, name: str = "bad.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_boxes_onboarded_then_results_evaluate_as_pycocotools(store: Store) -> None:
    report = create_project_from_coco(store, "coco100", INSTANCES, shape="bounding_box")
    data = _instances()
    assert report.data_units == len(data["images"]) == 100
    assert report.ground_truth is not None
    assert report.ground_truth.objects == len(data["annotations"]) == 839
    assert [n for n, _ in report.objects] == [c["name"] for c in data["categories"]]
    assert {s for _, s in report.objects} == {"bounding_box"}
    units = list_data_units(store, report.project)
    # Registered in image-id order, titled by file_name, sized from the file.
    by_id = sorted(data["images"], key=lambda im: im["id"])
    assert [(u.data_title, u.width, u.height) for u in units] == [
        (im["file_name"], im["width"], im["height"]) for im in by_id
    ]
    # The results list maps through the ids the onboarding recorded (no --gt needed).
    results = import_coco(
        store,
        report.project,
        COCO100 / "instances_val2014_fakebbox100_results.json",
        ImportOptions(branch="fake"),
    )
    assert results.objects == 734
    stats = evaluate_branch(store, report.project, "fake").stats
    expected = _expected("bbox")
    assert stats["AP"] == pytest.approx(expected["AP"], abs=1e-12)
    assert stats["AR100"] == pytest.approx(expected["AR100"], abs=1e-12)


def test_auto_shapes_keep_masks_for_segm_results(store: Store) -> None:
    report = create_project_from_coco(store, "masks", INSTANCES)
    data = _instances()
    used = {a["category_id"] for a in data["annotations"]}
    shapes = dict(report.objects)
    for cat in data["categories"]:
        # Annotated categories hold polygons or RLE: masks; the rest stay boxes.
        assert shapes[cat["name"]] == ("bitmask" if cat["id"] in used else "bounding_box")
    import_coco(
        store,
        report.project,
        COCO100 / "instances_val2014_fakesegm100_results.json",
        ImportOptions(branch="segm"),
    )
    stats = evaluate_branch(store, report.project, "segm", iou_type="segm").stats
    assert stats["AP"] == pytest.approx(_expected("segm")["AP"], abs=1e-12)


def test_a_bad_record_anywhere_creates_nothing(store: Store, tmp_path: Path) -> None:
    data = _instances()
    broken = copy.deepcopy(data)
    broken["annotations"][700]["category_id"] = 9999  # found while planning, in the transaction
    with pytest.raises(ImportFormatError, match=r"annotations\[700\]\.category_id"):
        create_project_from_coco(store, "bad", _write(tmp_path, broken))
    broken = copy.deepcopy(data)
    broken["annotations"][512]["bbox"] = [1, 2, -5, 4]
    with pytest.raises(ImportFormatError, match=r"annotations\[512\]\.bbox") as info:
        create_project_from_coco(store, "bad", _write(tmp_path, broken), shape="bounding_box")
    assert "bad.json" in str(info.value)
    broken = copy.deepcopy(data)
    broken["images"][40]["file_name"] = broken["images"][3]["file_name"]
    with pytest.raises(ImportFormatError, match=r"images\[40\]\.file_name.*images\[3\]"):
        create_project_from_coco(store, "bad", _write(tmp_path, broken))
    broken = copy.deepcopy(data)
    broken["categories"][5]["name"] = broken["categories"][2]["name"]
    with pytest.raises(ImportFormatError, match=r"categories\[5\]\.name"):
        create_project_from_coco(store, "bad", _write(tmp_path, broken))
    assert list_projects(store) == []


def test_wrong_inputs_are_refused_by_name(store: Store, tmp_path: Path) -> None:
    results = COCO100 / "instances_val2014_fakebbox100_results.json"
    with pytest.raises(ImportFormatError, match="results list"):
        create_project_from_coco(store, "r", results)
    with pytest.raises(ImportFormatError, match="cannot read"):
        create_project_from_coco(store, "r", tmp_path / "nope.json")
    with pytest.raises(InvalidArgumentsError, match="not a folder"):
        create_project_from_coco(store, "r", INSTANCES, images=tmp_path / "none")
    with pytest.raises(InvalidArgumentsError, match="shape 'boxes'"):
        create_project_from_coco(store, "r", INSTANCES, shape="boxes")
    no_size = _instances()
    del no_size["images"][7]["width"]
    with pytest.raises(ImportFormatError, match=r"images\[7\]\.width"):
        create_project_from_coco(store, "r", _write(tmp_path, no_size))
    assert list_projects(store) == []
    create_project_from_coco(store, "taken", INSTANCES, shape="bounding_box")
    with pytest.raises(ResourceExistsError, match="'taken' already exists"):
        create_project_from_coco(store, "taken", INSTANCES)
    assert [p.title for p in list_projects(store)] == ["taken"]


def test_images_folder_gives_pixels_and_checks_sizes(store: Store, tmp_path: Path) -> None:
    dataset = json.loads((SKIMAGE / "images_coco.json").read_text())
    gt = json.loads((SKIMAGE / "demo_ground_truth.json").read_text())
    dataset["annotations"] = gt["annotations"]
    dataset["categories"] = gt["categories"]
    dataset["images"].append({"id": 99, "file_name": "absent.png", "width": 10, "height": 10})
    path = _write(tmp_path, dataset, "photos.json")
    report = create_project_from_coco(store, "photos", path, images=SKIMAGE / "images")
    assert (report.data_units, report.with_pixels, report.missing_files) == (9, 8, ["absent.png"])
    links = {u.data_title: u.data_link for u in list_data_units(store, report.project)}
    assert links["astronaut.png"] == str((SKIMAGE / "images" / "astronaut.png").resolve())
    assert links["absent.png"] is None
    dataset["images"][0]["width"] += 1
    with pytest.raises(ImportFormatError, match=r"images\[0\].*513x512.*512x512"):
        create_project_from_coco(store, "p2", _write(tmp_path, dataset), images=SKIMAGE / "images")
    assert [p.title for p in list_projects(store)] == ["photos"]


def test_keypoint_categories_become_skeletons(store: Store, tmp_path: Path) -> None:
    names = ["nose", "left_eye", "right_eye"]
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
        "categories": [
            {"id": 1, "name": "person", "keypoints": names, "skeleton": [[1, 2], [1, 3]]},
            {"id": 2, "name": "ball"},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 50, 60],
                "area": 3000,
                "iscrowd": 0,
                "keypoints": [30, 20, 2, 25, 15, 2, 35, 15, 1],
                "num_keypoints": 3,
            },
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [70, 5, 10, 10], "iscrowd": 0},
        ],
    }
    report = create_project_from_coco(store, "kp", _write(tmp_path, data))
    assert report.objects == [("person", "skeleton"), ("ball", "bounding_box")]
    ontology = OntologyStructure.from_dict(report.project.ontology)
    (template,) = ontology.skeleton_templates
    assert [p["name"] for p in template.skeleton.values()] == names
    assert template.skeleton_edges == {"0": {"1": {"color": "#000000"}, "2": {"color": "#000000"}}}
    (row,) = list_label_rows(store, report.project, ontology)
    row.initialise_labels()
    shapes = sorted(i.ontology_item.name for i in row.get_object_instances())
    assert shapes == ["ball", "person"]


def test_sdk_client_onboards_through_the_same_service(tmp_path: Path) -> None:
    from predscope.sdk.client import Client

    with Client(tmp_path / "store") as client:
        project = client.create_project_from_coco("sdk", INSTANCES, shape="bounding_box")
        assert project.title == "sdk"
        assert len(list_data_units(client.store, project._record)) == 100
