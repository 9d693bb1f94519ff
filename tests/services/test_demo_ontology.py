"""The demo ontology names its OCR attribute as the OCR output does, so the text comes in."""

from __future__ import annotations

import json
from pathlib import Path

from predscope.services.demo import run_demo
from predscope.services.exports.listing import verify_listing
from predscope.services.projects import get_project
from predscope.store.engine import open_store

DATA = Path(__file__).resolve().parents[2] / "data" / "skimage-images"


def test_ocr_predictions_text_lands_in_the_demo_text_attribute(tmp_path: Path) -> None:
    ontology = json.loads((DATA / "demo_ontology.json").read_text(encoding="utf-8"))
    text_object = next(o for o in ontology["objects"] if o["name"] == "text")
    assert [a["name"] for a in text_object["attributes"]] == ["text"]
    expected = sorted(
        d["attributes"]["text"]
        for d in json.loads((DATA / "pred_rapidocr_1.4.4.json").read_text(encoding="utf-8"))
    )
    with open_store(tmp_path / "store") as store:
        run_demo(store, DATA)
        project = get_project(store, "skimage-demo")
        rows = verify_listing(store, project, branch_name="rapidocr-1.4.4")
    answers = sorted(
        attr.answer
        for row in rows
        for obj in row.objects
        for attr in obj.attributes
        if attr.name == "text"
    )
    assert answers == expected
    assert len(answers) == 6
