"""COCO per-annotation ``attributes`` become answers of the ontology object's attributes.

Stored as standard Encord object answers (so the Encord export and ``LabelRowV2`` read them), on
SQLite and PostgreSQL; unknown names are counted in the report, a bad value is a located error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import ImportFormatError
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.exports.encord import export_encord
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import SKIMAGE, count_rows, stored_annotations


def _attr(uid: str, name: str, kind: str, options: list[Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": uid,
        "name": name,
        "type": kind,
        "featureNodeHash": f"h{uid.replace('.', '')}",
        "required": False,
    }
    if options is not None:
        out["options"] = options
    return out


def _opt(uid: str, label: str, nested: list[Any] | None = None) -> dict[str, Any]:
    return {"id": uid, "label": label, "featureNodeHash": f"o{uid.replace('.', '')}",
            "options": nested or []}  # fmt: skip


ONTOLOGY = {
    "objects": [
        {
            "id": "1",
            "name": "text",
            "shape": "polygon",
            "featureNodeHash": "textobj1",
            "required": False,
            "attributes": [
                _attr("1.1", "text", "text"),
                _attr(
                    "1.2",
                    "script",
                    "radio",
                    [
                        _opt("1.2.1", "latin", [_attr("1.2.1.1", "font", "text")]),
                        _opt("1.2.2", "other"),
                    ],
                ),
                _attr(
                    "1.3",
                    "flags",
                    "checklist",
                    [_opt("1.3.1", "blurred"), _opt("1.3.2", "rotated")],
                ),
            ],
        }
    ],
    "classifications": [],
}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def project(store: Store) -> ProjectRecord:
    record = create_project(store, "ocr", ONTOLOGY)
    catalogue = json.loads((SKIMAGE / "images_coco.json").read_text())
    add_data(
        store,
        record,
        [
            {"title": im["file_name"], "width": im["width"], "height": im["height"]}
            for im in catalogue["images"]
        ],
    )
    return record


def _answers(store: Store, project: ProjectRecord, branch: str) -> list[tuple[str, Any]]:
    obj = OntologyStructure.from_dict(project.ontology).objects[0]
    by_name = {a.name: a for a in obj.attributes}
    out = []
    for _, inst, _ in stored_annotations(store, project, branch):
        out.append((inst.get_answer(by_name["text"]), inst.get_answer(by_name["script"])))
    return sorted(out, key=lambda t: str(t))


def test_ocr_text_lands_on_the_text_attribute(store: Store, project: ProjectRecord) -> None:
    """The RapidOCR file's ``{"text": "M6"}`` used to be dropped without a word."""
    path = SKIMAGE / "pred_rapidocr_1.4.4.json"
    preds = json.loads(path.read_text())
    report = import_coco(
        store, project, path, ImportOptions(branch="ocr"), gt_path=SKIMAGE / "images_coco.json"
    )
    assert report.objects == len(preds) and report.skipped_attributes == {}
    texts = sorted(str(t) for t, _ in _answers(store, project, "ocr"))
    assert texts == sorted(p["attributes"]["text"] for p in preds)
    # Stored as standard Encord object answers: the export carries them.
    exported = export_encord(store, project, branch_name="ocr")
    answered = [
        c
        for row in exported
        for answer in row["object_answers"].values()
        for c in answer["classifications"]
    ]
    assert sorted(c["answers"] for c in answered if c["name"] == "text") == sorted(
        p["attributes"]["text"] for p in preds
    )


def _one(tmp_path: Path, attributes: Any) -> Path:
    path = tmp_path / "one.json"
    ann = {"image_id": 5, "category_id": 3, "bbox": [224, 243, 89, 36], "score": 0.5,
           "attributes": attributes}  # fmt: skip
    path.write_text(json.dumps([ann]))
    return path


def test_radio_checklist_and_nested_by_option_title(
    tmp_path: Path, store: Store, project: ProjectRecord
) -> None:
    path = _one(
        tmp_path,
        {"text": "M6", "script": "latin", "font": "serif", "flags": ["rotated"], "lang": "en"},
    )
    report = import_coco(
        store, project, path, ImportOptions(branch="a"), gt_path=SKIMAGE / "images_coco.json"
    )
    assert report.skipped_attributes == {"'lang' (object 'text')": 1}
    assert "skipped, unknown attribute 'lang' (object 'text'): 1 annotations" in (
        report.summary_lines()
    )
    onto = OntologyStructure.from_dict(project.ontology)
    obj = onto.objects[0]
    script, flags = obj.attributes[1], obj.attributes[2]
    font = script.options[0].nested_options[0]
    ((_, inst, _),) = list(stored_annotations(store, project, "a"))
    assert inst.get_answer(obj.attributes[0]) == "M6"
    assert inst.get_answer(script).label == "latin"
    assert inst.get_answer(font) == "serif"
    assert [o.label for o in inst.get_answer(flags)] == ["rotated"]


@pytest.mark.parametrize(
    ("attributes", "where"),
    [
        ({"script": "cyrillic"}, r"\[0\]\.attributes\.script: 'cyrillic' is not an option"),
        ({"text": 6}, r"\[0\]\.attributes\.text: the text attribute 'text' takes a string"),
        ({"flags": ["blurred", "x"]}, r"\[0\]\.attributes\.flags\[1\]: 'x' is not an option"),
        ("M6", r"attributes must be a JSON object"),
    ],
)
def test_a_bad_value_is_a_located_error(
    tmp_path: Path, store: Store, project: ProjectRecord, attributes: Any, where: str
) -> None:
    before = count_rows(store)
    with pytest.raises(ImportFormatError, match=where):
        import_coco(
            store,
            project,
            _one(tmp_path, attributes),
            ImportOptions(branch="b"),
            gt_path=SKIMAGE / "images_coco.json",
        )
    assert count_rows(store) == before
