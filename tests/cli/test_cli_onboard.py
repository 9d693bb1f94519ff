"""``predscope project create NAME --from-coco`` through the real Typer app, bad input too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app, main

DATA = Path(__file__).resolve().parents[2] / "data"
COCO100 = DATA / "coco-val2014-100"
INSTANCES = COCO100 / "instances_val2014_100.json"
RESULTS = COCO100 / "instances_val2014_fakebbox100_results.json"

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args))
    return result.exit_code, result.stdout


def test_three_commands_from_two_coco_files(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    code, out = run(
        "project", "create", "coco", "--from-coco", str(INSTANCES), "--shape", "bounding_box",
        "--store", store, "--json",
    )  # fmt: skip
    assert code == 0, out
    created = json.loads(out)
    assert (created["data_units"], created["ground_truth"]["objects"]) == (100, 839)
    code, out = run("import", "coco", "coco", str(RESULTS), "--branch", "fake", "--store", store)
    assert code == 0, out
    code, out = run("analyse", "coco", "--branch", "fake", "--store", store, "--json")
    assert code == 0, out
    expected = json.loads((COCO100 / "expected_published.json").read_text())["bbox"]
    assert abs(json.loads(out)["stats"]["AP"] - expected["AP"]) < 1e-12


def test_wrong_input_is_an_error_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    cases = [
        (["--from-coco", str(RESULTS)], "results list"),
        (["--from-coco", str(tmp_path / "missing.json")], "cannot read"),
        (["--from-coco", str(INSTANCES), "--images", str(tmp_path / "x")], "not a folder"),
        (["--from-coco", str(INSTANCES), "--shape", "box"], "shape 'box'"),
        ([], "either --ontology"),
        (["--ontology", str(INSTANCES), "--from-coco", str(INSTANCES)], "either --ontology"),
    ]
    for extra, message in cases:
        with pytest.raises(SystemExit) as exited:
            main(["project", "create", "p", *extra, "--store", store, "--json"])
        out = capsys.readouterr().out
        assert exited.value.code != 0, extra
        assert message in json.loads(out)["error"]["message"], (extra, out)
    code, out = run("project", "list", "--store", store, "--json")
    assert json.loads(out) == []
