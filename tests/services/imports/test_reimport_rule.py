"""The re-import rule and the empty-import rule, for COCO, YOLO, VOC and Encord, on both stores.

A branch that already holds labels takes an import only with ``replace`` or ``append``; the very
same file appended again is a duplicate; an import that would write nothing fails and records
nothing. Every refusal leaves the store as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from predscope.exceptions import (
    BranchHasLabelsError,
    DuplicateImportError,
    EmptyImportError,
)
from predscope.services.imports.coco import import_coco
from predscope.services.imports.encord import import_encord
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.text import import_voc, import_yolo
from predscope.services.projects import add_data, create_project
from predscope.store import imports as import_repo
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import DATA, count_rows, ontology, stored_annotations

IMAGES = [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}]
CATEGORIES = [{"id": 1, "name": "person"}]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def project(store: Store) -> ProjectRecord:
    record = create_project(store, "p", ontology([("person", "bounding_box")]))
    add_data(store, record, [{"title": "a.jpg", "width": 100, "height": 100}])
    return record


def _coco(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _results(score: float = 0.9) -> str:
    return json.dumps([{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": score}])


def _scores(store: Store, project: ProjectRecord, branch: str) -> list[float]:
    return sorted(float(a.confidence) for _, _, a in stored_annotations(store, project, branch))


def _imports(store: Store, project: ProjectRecord, branch: str) -> int:
    with store.read() as conn:
        return len(import_repo.find_imports(conn, project.id, branch_name=branch))


def test_coco_same_predictions_with_a_trailing_space_are_refused(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    gt = _coco(tmp_path, "gt.json", json.dumps({"images": IMAGES, "categories": CATEGORIES}))
    first = _coco(tmp_path, "preds.json", _results())
    spaced = _coco(tmp_path, "preds-2.json", _results() + " ")  # other sha256, same content
    import_coco(store, project, first, ImportOptions(branch="m"), gt_path=gt)
    before = count_rows(store)
    with pytest.raises(BranchHasLabelsError) as caught:
        import_coco(store, project, spaced, ImportOptions(branch="m"), gt_path=gt)
    message = str(caught.value)
    assert "branch 'm'" in message and "1 objects" in message
    assert f"last imported from {first}" in message and " UTC" in message
    assert "replace=True" in message and "append=True" in message
    with pytest.raises(BranchHasLabelsError):  # a dry run reports the refusal too
        import_coco(store, project, spaced, ImportOptions(branch="m", dry_run=True), gt_path=gt)
    assert count_rows(store) == before and _scores(store, project, "m") == [0.9]

    # append adds a different file; the very same file appended again is a duplicate.
    import_coco(store, project, spaced, ImportOptions(branch="m", append=True), gt_path=gt)
    assert _scores(store, project, "m") == [0.9, 0.9]
    with pytest.raises(DuplicateImportError, match="this very file") as dup:
        import_coco(store, project, first, ImportOptions(branch="m", append=True), gt_path=gt)
    assert not isinstance(dup.value, BranchHasLabelsError)
    assert _scores(store, project, "m") == [0.9, 0.9]

    swapped = _coco(tmp_path, "preds-3.json", _results(0.25))
    report = import_coco(
        store, project, swapped, ImportOptions(branch="m", replace=True), gt_path=gt
    )
    assert (report.mode, report.replaced) == ("replace", True)
    assert _scores(store, project, "m") == [0.25]
    assert _imports(store, project, "m") == 1  # the swapped-out imports' records go with them


def test_labels_saved_through_the_sdk_count_too(
    tmp_path: Path, store_url: str, store: Store, project: ProjectRecord
) -> None:
    from predscope.objects.coordinates import BoundingBoxCoordinates
    from predscope.sdk.client import Client

    with Client(store_url) as client:
        sdk_project = client.get_project("p")
        (row,) = sdk_project.list_label_rows_v2(branch_name="s")
        row.initialise_labels()
        inst = sdk_project.ontology_structure.objects[0].create_instance()
        inst.set_for_frames(BoundingBoxCoordinates(0.5, 0.5, 0.1, 0.1), confidence=0.5)
        row.add_object_instance(inst)
        row.save()
    gt = _coco(tmp_path, "gt.json", json.dumps({"images": IMAGES, "categories": CATEGORIES}))
    preds = _coco(tmp_path, "preds.json", _results())
    with pytest.raises(
        BranchHasLabelsError, match=r"1 objects .* in 1 rows \(saved, not imported\)"
    ):
        import_coco(store, project, preds, ImportOptions(branch="s"), gt_path=gt)
    import_coco(store, project, preds, ImportOptions(branch="s", append=True), gt_path=gt)
    assert _scores(store, project, "s") == [0.5, 0.9]


def test_yolo_and_voc_follow_the_same_rule(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    yolo_a, yolo_b = tmp_path / "ya", tmp_path / "yb"
    for folder, line in (
        (yolo_a, "person 0.5 0.5 0.2 0.2 0.75"),
        (yolo_b, "person 0.5 0.5 0.2 0.2 0.75 "),
    ):
        folder.mkdir()
        (folder / "a.txt").write_text(line + "\n")
    yolo = {"class_mode": "name", "score_column": "last"}
    import_yolo(store, project, yolo_a, ImportOptions(branch="y"), **yolo)  # type: ignore[arg-type]
    with pytest.raises(BranchHasLabelsError, match="--replace|replace=True"):
        import_yolo(store, project, yolo_b, ImportOptions(branch="y"), **yolo)  # type: ignore[arg-type]
    import_yolo(store, project, yolo_b, ImportOptions(branch="y", append=True), **yolo)  # type: ignore[arg-type]
    with pytest.raises(DuplicateImportError, match="this very file"):
        import_yolo(store, project, yolo_a, ImportOptions(branch="y", append=True), **yolo)  # type: ignore[arg-type]
    assert _scores(store, project, "y") == [0.75, 0.75]

    voc = tmp_path / "voc"
    voc.mkdir()
    (voc / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>100</width><height>100</height>"
        "</size><object><name>person</name><score>0.5</score><bndbox><xmin>10</xmin>"
        "<ymin>10</ymin><xmax>30</xmax><ymax>30</ymax></bndbox></object></annotation>"
    )
    import_voc(store, project, voc, ImportOptions(branch="v"))
    with pytest.raises(BranchHasLabelsError):
        import_voc(store, project, voc, ImportOptions(branch="v"))
    assert import_voc(store, project, voc, ImportOptions(branch="v", replace=True)).replaced
    assert _scores(store, project, "v") == [0.5]


def test_encord_rows_follow_the_same_rule(store: Store, tmp_path: Path) -> None:
    rows = DATA / "encord-label-rows"
    project = create_project(store, "enc", rows / "ontology_all_types_dict.json")
    add_data(store, project, [{"title": "rousseau_2.jpg", "width": 1200, "height": 924}])
    native = rows / "label_row_native_image.json"
    import_encord(store, project, [native], ImportOptions(branch="e"))
    before = count_rows(store)
    with pytest.raises(BranchHasLabelsError, match="branch 'e'.*label_row_native_image.json"):
        import_encord(store, project, [native], ImportOptions(branch="e"))
    with pytest.raises(DuplicateImportError, match="this very file"):
        import_encord(store, project, [native], ImportOptions(branch="e", append=True))
    assert count_rows(store) == before
    report = import_encord(store, project, [native], ImportOptions(branch="e", replace=True))
    assert report.replaced and report.label_rows[0].replaced and report.objects == 3
    assert count_rows(store) == before


@pytest.mark.parametrize("case", ["empty list", "every image skipped", "every category skipped"])
def test_an_import_that_writes_nothing_fails_and_is_not_recorded(
    tmp_path: Path, store: Store, project: ProjectRecord, case: str
) -> None:
    images = [*IMAGES, {"id": 2, "file_name": "elsewhere.jpg", "width": 100, "height": 100}]
    categories = [*CATEGORIES, {"id": 2, "name": "zebra"}]
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5}
    anns, options, why = {
        "empty list": ([], ImportOptions(branch="x"), "it holds no annotations"),
        "every image skipped": (
            [{**ann, "image_id": 2}],
            ImportOptions(branch="x", on_unknown_image="skip"),
            "1 were skipped because their 1 image",
        ),
        "every category skipped": (
            [{**ann, "category_id": 2}],
            ImportOptions(branch="x", on_unknown_category="skip"),
            "1 were skipped because their 1 category",
        ),
    }[case]
    data = {"images": images, "categories": categories, "annotations": anns}
    path = _coco(tmp_path, "d.json", json.dumps(data))
    before = count_rows(store)
    with pytest.raises(EmptyImportError, match=why):
        import_coco(store, project, path, options)
    assert count_rows(store) == before and _imports(store, project, "x") == 0


def test_empty_yolo_and_encord_imports_fail(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    folder = tmp_path / "y"
    folder.mkdir()
    (folder / "a.txt").write_text("")
    with pytest.raises(EmptyImportError, match="no annotations"):
        import_yolo(store, project, folder, ImportOptions(branch="y"), class_mode="name")
    rows = tmp_path / "rows.json"
    rows.write_text("[]")
    with pytest.raises(EmptyImportError, match="no label rows"):
        import_encord(store, project, [rows], ImportOptions(branch_in_rows=True))
    assert _imports(store, project, "y") == 0
