"""The Python API's COCO import: ``Project.import_coco`` (with the CLI's options as keywords) and
``Project.import_coco_labels`` with Encord's signature, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import DuplicateImportError, UnknownCategoryError
from predscope.sdk.client import Client
from predscope.utilities.coco.datastructure import FrameIndex

DATA = Path(__file__).resolve().parents[2] / "data"
SKIMAGE = DATA / "skimage-images"


def _ontology() -> dict[str, Any]:
    objects = [("face", "bounding_box"), ("person", "bounding_box"), ("text", "polygon")]
    return {
        "objects": [
            {
                "id": str(i + 1),
                "name": name,
                "color": "#D33115",
                "shape": shape,
                "featureNodeHash": uuid.uuid4().hex[:8],
                "required": False,
            }
            for i, (name, shape) in enumerate(objects)
        ],
        "classifications": [],
    }


def _confidences(project: Any, branch: str) -> list[tuple[str, str, float, bool]]:
    out = []
    for row in project.list_label_rows_v2(branch_name=branch):
        if row.label_hash is None:
            continue
        row.initialise_labels()
        for inst in row.get_object_instances():
            a = inst.get_annotation(0)
            out.append((row.data_title, inst.object_name, a.confidence, a.manual_annotation))
    return sorted(out)


def test_project_import_coco_results_with_gt_catalogue(store_url: str) -> None:
    catalogue = json.loads((SKIMAGE / "images_coco.json").read_text())
    preds = json.loads((SKIMAGE / "pred_opencv_haar_hog.json").read_text())
    names = {c["id"]: c["name"] for c in catalogue["categories"]}
    files = {im["id"]: im["file_name"] for im in catalogue["images"]}
    with Client(store_url) as client:
        project = client.create_project("sk", ontology=_ontology())
        project.add_data(
            [
                {"title": im["file_name"], "width": im["width"], "height": im["height"]}
                for im in catalogue["images"]
            ]
        )
        report = project.import_coco(
            SKIMAGE / "pred_opencv_haar_hog.json",
            branch_name="haar",
            gt_path=SKIMAGE / "images_coco.json",
        )
        assert (report.objects, report.mapping_source, report.dry_run) == (len(preds), "gt", False)
        want = sorted(
            (files[p["image_id"]], names[p["category_id"]], p["score"], False) for p in preds
        )
        assert _confidences(project, "haar") == want  # unbounded scores kept exactly
        with pytest.raises(DuplicateImportError):
            project.import_coco(
                SKIMAGE / "pred_opencv_haar_hog.json",
                branch_name="haar",
                gt_path=SKIMAGE / "images_coco.json",
            )
        again = project.import_coco(
            SKIMAGE / "pred_opencv_haar_hog.json",
            branch_name="haar",
            gt_path=SKIMAGE / "images_coco.json",
            replace=True,
        )
        assert again.replaced and _confidences(project, "haar") == want


def test_project_import_coco_labels_encord_signature(store_url: str) -> None:
    catalogue = json.loads((SKIMAGE / "images_coco.json").read_text())
    preds = json.loads((SKIMAGE / "pred_opencv_haar_hog.json").read_text())
    labels = {
        **catalogue,
        "annotations": [
            {"id": i + 1, "iscrowd": 0, "area": p["bbox"][2] * p["bbox"][3], **p}
            for i, p in enumerate(preds)
        ],
    }
    with Client(store_url) as client:
        project = client.create_project("enc", ontology=_ontology())
        project.add_data(
            [
                {"title": im["file_name"], "width": im["width"], "height": im["height"]}
                for im in catalogue["images"]
            ]
        )
        units = {u.data_title: u.data_hash for u in project.list_data_units()}
        face = project.ontology_structure.get_child_by_title("face")
        image_map = {im["id"]: FrameIndex(units[im["file_name"]]) for im in catalogue["images"]}
        report = project.import_coco_labels(
            labels,
            {1: face.feature_node_hash},  # only faces mapped: the rest is skipped, as in Encord
            image_map,
            branch_name="model",
            confidence_field_name="score",
        )
        faces = [p for p in preds if p["category_id"] == 1]
        assert report.objects == len(faces)
        got = _confidences(project, "model")
        assert {name for _, name, _, _ in got} == {"face"}
        assert sorted(c for _, _, c, _ in got) == sorted(p["score"] for p in faces)
        assert all(manual is False for *_, manual in got)
        with pytest.raises(DuplicateImportError):
            project.import_coco_labels(
                labels,
                {1: face.feature_node_hash},
                image_map,
                branch_name="model",
                confidence_field_name="score",
            )


def test_project_import_coco_unknown_category_error_then_skip(
    tmp_path: Path, store_url: str
) -> None:
    dataset = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "Face"}, {"id": 2, "name": "zebra"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [1, 1, 5, 5], "score": 0.5},
        ],
    }
    path = tmp_path / "d.json"
    path.write_text(json.dumps(dataset))
    with Client(store_url) as client:
        project = client.create_project("u", ontology=_ontology())
        project.add_data([{"title": "a.jpg", "width": 100, "height": 100}])
        with pytest.raises(UnknownCategoryError, match="zebra"):
            project.import_coco(path, branch_name="p")
        assert _confidences(project, "p") == []
        report = project.import_coco(path, branch_name="p", on_unknown_category="skip")
        assert report.objects == 1 and report.skipped_categories == {"2 'zebra'": 1}
        assert _confidences(project, "p") == [("a.jpg", "face", 0.5, False)]
