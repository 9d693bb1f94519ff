"""COCO/YOLO/VOC on both stores: transaction rules (refuse, replace, dry run,
bad input changes nothing) and export parity, run once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from predscope.exceptions import DuplicateImportError, ImportFormatError
from predscope.services.exports.coco import export_coco_file
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.text import import_voc, import_yolo
from predscope.services.projects import add_data, create_project
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import D2, PADILLA, count_rows, ontology, stored_annotations


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _stats(gt: Path, dt: Path, iou_type: str) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt))
        ev = COCOeval(coco, coco.loadRes(str(dt)), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def _scores(store: Store, project: ProjectRecord, branch: str) -> list[tuple[str, float, bool]]:
    return sorted(
        (row.data_title, float(a.confidence), bool(a.manual_annotation))
        for row, _, a in stored_annotations(store, project, branch)
    )


@pytest.fixture
def d2(store: Store) -> ProjectRecord:
    gt = json.loads((D2 / "gt_val2017_139_285.json").read_text())
    objects = [("person", "bounding_box"), ("person", "bitmask"), ("bed", "bitmask")]
    project = create_project(store, "d2", ontology(objects))
    units = [
        {"title": im["file_name"], "width": im["width"], "height": im["height"]}
        for im in gt["images"]
    ]
    add_data(store, project, units)
    return project


def test_coco_refuse_replace_and_export_parity(
    tmp_path: Path, store: Store, d2: ProjectRecord
) -> None:
    gt_file, dt_file = D2 / "gt_val2017_139_285.json", D2 / "dt_maskrcnn_139.json"
    dets = json.loads(dt_file.read_text())
    import_coco(store, d2, gt_file, ImportOptions(branch="main", ground_truth=True))
    first = import_coco(store, d2, dt_file, ImportOptions(branch="dt"))
    assert first.objects == len(dets) and first.mapping_source == "recorded"
    want = sorted((t, float(d["score"]), False) for d in dets for t in ["000000000139.jpg"])
    assert [(t, s, m) for t, s, m in _scores(store, d2, "dt")] == want
    before = count_rows(store)

    with pytest.raises(DuplicateImportError, match="replace"):
        import_coco(store, d2, dt_file, ImportOptions(branch="dt"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([*dets[:2], {**dets[2], "bbox": [0, 0, -4, 3]}]))
    with pytest.raises(ImportFormatError, match=r"\[2\]\.bbox"):
        import_coco(store, d2, bad, ImportOptions(branch="dt", replace=True))
    assert count_rows(store) == before

    # --replace with a smaller file swaps the branch's labels: nothing old survives.
    subset = tmp_path / "subset.json"
    subset.write_text(json.dumps([{**d, "score": 2.5 + i} for i, d in enumerate(dets[:3])]))
    report = import_coco(store, d2, subset, ImportOptions(branch="dt", replace=True))
    assert report.replaced and report.objects == 3
    assert [s for _, s, _ in _scores(store, d2, "dt")] == [2.5, 3.5, 4.5]
    # Replacing with the original file again restores exactly the first import.
    import_coco(store, d2, dt_file, ImportOptions(branch="dt", replace=True))
    assert _scores(store, d2, "dt") == want
    gt = json.loads(gt_file.read_text())
    titles = {im["id"]: im["file_name"] for im in gt["images"]}
    assert _scores(store, d2, "main") == sorted(
        (titles[a["image_id"]], 1.0, True) for a in gt["annotations"]
    )

    export_coco_file(store, d2, tmp_path / "gt.json")
    export_coco_file(store, d2, tmp_path / "dt.json", branch_name="dt", results=True)
    assert np.array_equal(
        _stats(tmp_path / "gt.json", tmp_path / "dt.json", "segm"),
        _stats(gt_file, dt_file, "segm"),
    )


def test_coco_dry_run_reports_without_writing(store: Store, d2: ProjectRecord) -> None:
    import_coco(
        store, d2, D2 / "gt_val2017_139_285.json", ImportOptions(branch="main", ground_truth=True)
    )
    before = count_rows(store)
    report = import_coco(
        store, d2, D2 / "dt_maskrcnn_139.json", ImportOptions(branch="dt", dry_run=True)
    )
    dets = json.loads((D2 / "dt_maskrcnn_139.json").read_text())
    assert (report.dry_run, report.objects) == (True, len(dets))
    assert sum(report.per_class.values()) == len(dets)
    doc: dict[str, Any] = report.to_dict()
    assert doc["mapping"]["counts"]["images_matched"] >= 1
    assert count_rows(store) == before
    assert _scores(store, d2, "dt") == []


@pytest.fixture
def padilla(store: Store) -> ProjectRecord:
    project = create_project(store, "padilla", ontology([("person", "bounding_box")]))
    units = [{"title": f"0000{i}.jpg", "width": 200, "height": 200} for i in range(1, 8)]
    add_data(store, project, units)
    return project


def _yolo(store: Store, project: ProjectRecord, folder: Path, **kw: Any) -> Any:
    options = ImportOptions(**kw)
    return import_yolo(store, project, folder, options, class_mode="name", score_column="second")


def test_yolo_dry_run_and_replace(tmp_path: Path, store: Store, padilla: ProjectRecord) -> None:
    before = count_rows(store)
    dry = _yolo(store, padilla, PADILLA / "detections_rel", branch="y", dry_run=True)
    assert (dry.objects, dry.dry_run) == (24, True)
    assert count_rows(store) == before
    _yolo(store, padilla, PADILLA / "detections_rel", branch="y")
    assert len(_scores(store, padilla, "y")) == 24
    folder = tmp_path / "dets"
    folder.mkdir()
    (folder / "00001.txt").write_text("person 0.125 0.5 0.5 0.2 0.2\n")
    report = _yolo(store, padilla, folder, branch="y", replace=True)
    assert report.replaced
    assert _scores(store, padilla, "y") == [("00001.jpg", 0.125, False)]


VOC = """<annotation>
  <filename>{name}</filename>
  <size><width>200</width><height>200</height></size>
  <object><name>person</name><score>{score}</score>
    <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>60</xmax><ymax>90</ymax></bndbox></object>
</annotation>
"""


def test_voc_refuse_dry_run_and_replace(
    tmp_path: Path, store: Store, padilla: ProjectRecord
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a.xml").write_text(VOC.format(name="00001.jpg", score=0.75))
    (first / "b.xml").write_text(VOC.format(name="00002.jpg", score=0.5))
    (second / "c.xml").write_text(VOC.format(name="00003.jpg", score=0.25))
    before = count_rows(store)
    assert import_voc(store, padilla, first, ImportOptions(branch="v", dry_run=True)).objects == 2
    assert count_rows(store) == before
    import_voc(store, padilla, first, ImportOptions(branch="v"))
    assert _scores(store, padilla, "v") == [("00001.jpg", 0.75, False), ("00002.jpg", 0.5, False)]
    after = count_rows(store)
    with pytest.raises(DuplicateImportError):
        import_voc(store, padilla, first, ImportOptions(branch="v"))
    assert count_rows(store) == after
    assert import_voc(store, padilla, second, ImportOptions(branch="v", replace=True)).replaced
    assert _scores(store, padilla, "v") == [("00003.jpg", 0.25, False)]
