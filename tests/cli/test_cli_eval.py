"""``predscope eval``: summary text, JSON document and errors (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app

DATA = Path(__file__).resolve().parents[2] / "data"
GT = DATA / "coco-val2014-100/instances_val2014_100.json"
DT = DATA / "coco-val2014-100/instances_val2014_fakebbox100_results.json"
PUBLISHED = json.loads((DATA / "coco-val2014-100/expected_published.json").read_text())


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.output


def test_summary_text() -> None:
    code, out = _run("eval", str(GT), str(DT))
    assert code == 0
    lines = [ln for ln in out.splitlines() if ln.startswith(" Average")]
    assert len(lines) == 12
    assert lines[0].endswith(f"= {PUBLISHED['bbox']['AP']:0.3f}")
    assert "maxDets=  1" in lines[6]


def test_json_with_per_class() -> None:
    code, out = _run("eval", str(GT), str(DT), "--json", "--per-class")
    assert code == 0
    doc = json.loads(out)
    assert list(doc["stats"]) == [
        "AP",
        "AP50",
        "AP75",
        "APs",
        "APm",
        "APl",
        "AR1",
        "AR10",
        "AR100",
        "ARs",
        "ARm",
        "ARl",
    ]
    assert abs(doc["stats"]["AP"] - PUBLISHED["bbox"]["AP"]) < 1e-12
    assert len(doc["per_class"]) == 80
    assert set(doc["per_class"][0]) == {"category_id", "name", "AP", "AP50", "AP75", "AR100"}
    person = doc["per_class"][0]
    assert person["category_id"] == 1 and person["name"] == "person"


def test_segm_json() -> None:
    segm = DATA / "coco-val2014-100/instances_val2014_fakesegm100_results.json"
    code, out = _run("eval", str(GT), str(segm), "--iou-type", "segm", "--json")
    assert code == 0
    assert abs(json.loads(out)["stats"]["AP"] - PUBLISHED["segm"]["AP"]) < 1e-12


def test_per_class_table() -> None:
    code, out = _run("eval", str(GT), str(DT), "--per-class")
    assert code == 0
    rows = [ln for ln in out.splitlines() if "│" in ln]
    assert len(rows) == 80
    assert any("person" in r for r in rows)
    assert any("n/a" in r for r in rows)  # classes without GT show n/a, never 0


def test_bad_input_exits_1_with_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from predscope.cli.app import main

    bad = tmp_path / "dt.json"
    bad.write_text(
        '[{"image_id": 42, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5},\n'
        ' {"image_id": 42, "category_id": 1, "bbox": [0, 0, 1], "score": 0.5}]'
    )
    with pytest.raises(SystemExit) as exc:
        main(["eval", str(GT), str(bad)])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "[1].bbox" in err and "expected 4" in err


def test_normalised_detections_warn_instead_of_a_silent_zero(tmp_path: Path) -> None:
    gt = json.loads(GT.read_text())
    sizes = {im["id"]: (im["width"], im["height"]) for im in gt["images"]}
    dets = json.loads(DT.read_text())
    for d in dets[1:]:  # all but one divided by the image size: fractions, not pixels
        w, h = sizes[d["image_id"]]
        x, y, bw, bh = d["bbox"]
        d["bbox"] = [x / w, y / h, bw / w, bh / h]
    path = tmp_path / "normalised.json"
    path.write_text(json.dumps(dets))
    code, out = _run("eval", str(GT), str(path))
    assert code == 0
    want = f"warning: {path}: {len(dets) - 1} of {len(dets)} boxes fit in the unit square"
    assert want in out
    code, out = _run("eval", str(GT), str(path), "--json")
    (warning,) = json.loads(out)["warnings"]
    assert warning.startswith(f"{path}: {len(dets) - 1} of {len(dets)} boxes")
    code, out = _run("eval", str(GT), str(DT), "--json")
    assert json.loads(out)["warnings"] == []
