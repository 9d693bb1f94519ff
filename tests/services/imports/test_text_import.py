"""YOLO and Pascal VOC imports through the services, on the Padilla sample and a VOC file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from predscope.exceptions import DuplicateImportError, ImportFormatError, UnknownCategoryError
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.text import import_voc, import_yolo
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import (
    PADILLA,
    count_rows,
    ontology,
    open_test_store,
    stored_annotations,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(tmp_path)


@pytest.fixture
def padilla(store: Store) -> ProjectRecord:
    project = create_project(store, "padilla", ontology([("person", "bounding_box")]))
    add_data(
        store,
        project,
        [{"title": f"0000{i}.jpg", "width": 200, "height": 200} for i in range(1, 8)],
    )
    return project


def _labels(
    store: Store, project: ProjectRecord, branch: str
) -> list[tuple[str, tuple[float, ...], float, bool]]:
    out = []
    for row, _, a in stored_annotations(store, project, branch):
        c = a.coordinates
        box = (c.top_left_x * 200, c.top_left_y * 200, c.width * 200, c.height * 200)
        out.append((row.data_title, box, a.confidence, a.manual_annotation))
    return sorted(out)


def _absolute(folder: str, score: bool) -> list[tuple[str, tuple[float, ...], float]]:
    out = []
    for path in sorted((PADILLA / folder).glob("*.txt")):
        for line in path.read_text().splitlines():
            f = line.split()
            if f:
                values = [float(v) for v in f[1:]]
                conf = values.pop(0) if score else 1.0
                out.append((f"{path.stem}.jpg", tuple(values), conf))
    return sorted(out)


def test_padilla_yolo_gt_and_detections(store: Store, padilla: ProjectRecord) -> None:
    gt = import_yolo(
        store,
        padilla,
        PADILLA / "groundtruths_rel",
        ImportOptions(branch="main", ground_truth=True),
        class_mode="name",
        score_column="none",
    )
    assert (gt.objects, gt.rows, gt.clipped) == (15, 7, 0)
    assert {m.how for m in gt.mapping.images} == {"stem"}
    dets = import_yolo(
        store,
        padilla,
        PADILLA / "detections_rel",
        ImportOptions(branch="dets"),
        class_mode="name",
        score_column="second",
    )
    assert dets.objects == 24 and dets.per_class == {"person": 24}
    for branch, folder, score in (("main", "groundtruths", False), ("dets", "detections", True)):
        got = _labels(store, padilla, branch)
        want = _absolute(folder, score)
        assert len(got) == len(want)
        for (title, box, conf, manual), (w_title, w_box, w_conf) in zip(got, want, strict=True):
            assert title == w_title and conf == w_conf and manual == (branch == "main")
            assert box == pytest.approx(w_box, abs=1e-9)
    with pytest.raises(DuplicateImportError):
        import_yolo(
            store,
            padilla,
            PADILLA / "detections_rel",
            ImportOptions(branch="dets"),
            class_mode="name",
            score_column="second",
        )


def test_yolo_index_mode_clipping_and_unknown_class(
    tmp_path: Path, store: Store, padilla: ProjectRecord
) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "classes.txt").write_text("person\ncar\n")
    (folder / "00001.txt").write_text("0 0.05 0.5 0.2 0.2 0.9\n1 0.5 0.5 0.1 0.1 0.3\n")
    before = count_rows(store)
    with pytest.raises(UnknownCategoryError, match="car"):
        import_yolo(store, padilla, folder, ImportOptions(branch="y"))
    assert count_rows(store) == before
    report = import_yolo(
        store, padilla, folder, ImportOptions(branch="y", on_unknown_category="skip")
    )
    assert (report.objects, report.clipped, report.skipped_categories) == (1, 1, {"car": 1})
    ((title, box, conf, _),) = _labels(store, padilla, "y")
    assert title == "00001.jpg" and conf == 0.9
    assert box == pytest.approx((0.0, 80.0, 30.0, 40.0))


VOC = """<annotation>
  <filename>{name}</filename>
  <size><width>200</width><height>200</height></size>
  <object><name>person</name><difficult>1</difficult>
    <bndbox><xmin>26</xmin><ymin>17</ymin><xmax>63</xmax><ymax>72</ymax></bndbox></object>
  <object><name>Person</name><score>0.66</score>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>200</xmax><ymax>250</ymax></bndbox></object>
</annotation>
"""


def test_voc_files(tmp_path: Path, store: Store, padilla: ProjectRecord) -> None:
    (tmp_path / "a.xml").write_text(VOC.format(name="00001.jpg"))
    (tmp_path / "b.xml").write_text(VOC.format(name="00002.jpg"))
    report = import_voc(store, padilla, tmp_path, ImportOptions(branch="main", ground_truth=True))
    assert (report.objects, report.rows, report.clipped) == (4, 2, 2)
    labels = _labels(store, padilla, "main")
    assert labels[0][0] == "00001.jpg"
    boxes = sorted(box for title, box, _, _ in labels if title == "00001.jpg")
    assert boxes[0] == pytest.approx((0.0, 0.0, 200.0, 200.0))  # clipped from ymax 250
    assert boxes[1] == pytest.approx((25.0, 16.0, 38.0, 56.0))
    onto = OntologyStructure.from_dict(padilla.ontology)
    row = next(r for r in list_label_rows(store, padilla, onto) if r.data_title == "00001.jpg")
    row.initialise_labels()
    flags = sorted(
        i.get_annotation(0).extra["voc"]["difficult"] for i in row.get_object_instances()
    )
    assert flags == [False, True]


def test_voc_errors_change_nothing(tmp_path: Path, store: Store, padilla: ProjectRecord) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(VOC.format(name="00001.jpg").replace("<width>200", "<width>300"))
    before = count_rows(store)
    with pytest.raises(ImportFormatError, match="300x200"):
        import_voc(store, padilla, bad, ImportOptions(branch="v"))
    bad.write_text('<!DOCTYPE x [<!ENTITY a "b">]>' + VOC.format(name="00001.jpg"))
    with pytest.raises(ImportFormatError, match="DTD"):
        import_voc(store, padilla, bad, ImportOptions(branch="v"))
    assert count_rows(store) == before


def test_a_voc_box_entirely_outside_its_image_is_an_error(
    tmp_path: Path, store: Store, padilla: ProjectRecord
) -> None:
    """It used to become a 0x0 box, counted as clipped."""
    (tmp_path / "a.xml").write_text(
        "<annotation><filename>00001.jpg</filename><size><width>200</width><height>200</height>"
        "</size><object><name>person</name><bndbox><xmin>250</xmin><ymin>10</ymin>"
        "<xmax>290</xmax><ymax>50</ymax></bndbox></object></annotation>"
    )
    before = count_rows(store)
    with pytest.raises(ImportFormatError, match=r"a.xml:object\[0\]: the box .* entirely outside"):
        import_voc(store, padilla, tmp_path, ImportOptions(branch="v"))
    assert count_rows(store) == before
