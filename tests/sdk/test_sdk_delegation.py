"""Project's import/export methods reach the services and give back what they wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from predscope.exceptions import DuplicateImportError, EmptyImportError, InvalidArgumentsError
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.sdk.client import Client
from tests.sdk.sdk_data import DATA, ONTOLOGY

ROWS = DATA / "encord-label-rows"


def test_encord_import_and_export_through_the_project(tmp_path: Path) -> None:
    with Client(tmp_path / "s") as client:
        project = client.create_project("enc", ontology=ROWS / "ontology_all_types_dict.json")
        project.add_data([{"title": "rousseau_2.jpg", "width": 1200, "height": 924}])
        project.import_encord([ROWS / "label_row_native_image.json"], branch_name="imported")
        assert project.list_branches() == ["imported"]
        [exported] = project.export_encord(branch_name="imported")
        source = json.loads((ROWS / "label_row_native_image.json").read_text())
        source = source[0] if isinstance(source, list) else source
        assert exported["branch_name"] == "imported"
        assert set(exported["object_answers"]) == set(source["object_answers"])
        assert project.export_encord() == []  # nothing on main
        # One path (not a list) is one file, not a sequence of characters.
        report = project.import_encord(
            str(ROWS / "label_row_native_image.json"), dry_run=True, branch_name="other"
        )
        assert [r.data_title for r in report.label_rows] == ["rousseau_2.jpg"]


def test_coco_labels_round_trip_through_the_project(tmp_path: Path) -> None:
    with Client(tmp_path / "s") as client:
        project = client.create_project("coco", ontology=ONTOLOGY)
        project.add_data([{"title": "a.jpg", "width": 200, "height": 100}])
        [row] = project.list_label_rows_v2(branch_name="preds")
        row.initialise_labels()
        inst = project.ontology_structure.objects[0].create_instance()
        inst.set_for_frames(
            BoundingBoxCoordinates(height=0.5, width=0.25, top_left_x=0.1, top_left_y=0.2),
            confidence=0.875,
            manual_annotation=False,
        )
        row.add_object_instance(inst)
        row.save()
        results = project.export_coco_labels(branch_name="preds", results=True)
        assert len(results) == 1
        assert results[0]["bbox"] == pytest.approx([20.0, 20.0, 50.0, 50.0])
        assert results[0]["score"] == 0.875
        with pytest.raises(InvalidArgumentsError, match="label_hashes"):
            project.export_coco_labels(label_hashes=["x"])


def test_coco_predictions_must_name_their_branch(tmp_path: Path) -> None:
    gt = DATA / "detectron2-coco-mini" / "gt_val2017_139_285.json"
    with Client(tmp_path / "s") as client:
        project = client.create_project("d2", ontology=ONTOLOGY)
        project.add_data([{"title": "000000000139.jpg", "width": 640, "height": 426}])
        with pytest.raises(InvalidArgumentsError, match="branch_name="):
            project.import_coco(gt)
        assert project.list_branches() == []
        # Ground truth defaults to main; none of its categories is in this ontology, so the
        # import would write nothing, which is an error that says so (a dry run too).
        with pytest.raises(EmptyImportError, match="branch 'main'.*on_unknown_category"):
            project.import_coco(gt, ground_truth=True, on_unknown_category="skip", dry_run=True)


def test_import_methods_return_the_one_report_type() -> None:
    import typing

    from predscope.sdk.project import Project
    from predscope.services.imports.report import ImportReport
    from predscope.utilities.coco.datastructure import FrameIndex

    names = {"FrameIndex": FrameIndex}
    for name in ("import_coco", "import_coco_labels", "import_yolo", "import_voc", "import_encord"):
        hints = typing.get_type_hints(getattr(Project, name), localns=names)
        assert hints["return"] is ImportReport, name
    hints = typing.get_type_hints(Project.export_coco_labels)
    assert hints["return"] != typing.Any


def test_yolo_and_voc_through_the_project(tmp_path: Path) -> None:
    padilla = DATA / "padilla-voc-sample-7"
    with Client(tmp_path / "s") as client:
        project = client.create_project("boxes", ontology=ONTOLOGY)
        project.add_data(
            [{"title": f"0000{i}.jpg", "width": 200, "height": 200} for i in range(1, 8)]
        )
        with pytest.raises(InvalidArgumentsError, match="branch_name='NAME'"):
            project.import_yolo(padilla / "detections_rel", class_mode="name")
        title = project.ontology_structure.objects[0].name
        classes = tmp_path / "classes.txt"
        classes.write_text(title + "\n")
        folder = tmp_path / "y"
        folder.mkdir()
        (folder / "00001.txt").write_text("0 0.5 0.5 0.2 0.2 0.75\n")
        report = project.import_yolo(folder, "y", class_names=classes)
        assert (report.format, report.objects, report.branch_name) == ("yolo", 1, "y")
        with pytest.raises(DuplicateImportError, match="append=True"):
            project.import_yolo(folder, "y", class_names=classes)
        assert project.import_yolo(folder, "y", class_names=classes, replace=True).replaced
