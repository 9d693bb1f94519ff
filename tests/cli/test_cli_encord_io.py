"""``predscope import encord`` / ``export encord`` through the real app, on the Encord fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.exceptions import ImportFormatError

DATA = Path(__file__).resolve().parents[2] / "data" / "encord-label-rows"
NATIVE = DATA / "label_row_native_image.json"
GROUP = DATA / "label_row_image_group.json"
PREDSCOPE = Path(sys.executable).with_name("predscope")

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(build_app(), list(args))


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A store with project 'G' (the image-group fixture's five 952x678 images)."""
    from predscope.services.projects import add_data, create_project
    from predscope.store.engine import open_store

    location = str(tmp_path / "store")
    group = json.loads(GROUP.read_text())
    units = sorted(group["data_units"].values(), key=lambda u: int(u["data_sequence"]))
    images = [{"title": u["data_title"], "width": 952, "height": 678} for u in units]
    with open_store(location) as st:
        project = create_project(st, "G", DATA / "ontology_image_group.json")
        add_data(st, project, [{"title": group["data_title"], "images": images}])
    return location


def test_dry_run_then_import_then_export(store: str, tmp_path: Path) -> None:
    result = run("import", "encord", "G", str(GROUP), "--dry-run", "--store", store)
    assert result.exit_code == 0, result.output
    assert (
        "label_row_image_group.json: 1 label rows (encord) -> branch 'main': would write 1 rows "
        "with 2 objects and 3 classifications"
    ) in result.stdout
    assert "  main: 1 rows (0 replaced), 2 objects, 3 classifications" in result.stdout
    assert "dry run: nothing written" in result.stdout
    out = tmp_path / "empty.json"
    assert run("export", "encord", "G", str(out), "--store", store).exit_code == 0
    assert json.loads(out.read_text()) == []

    result = run(
        "import", "encord", "G", str(GROUP), "--branch", "preds", "--json", "--store", store
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] is False
    assert report["branches"] == {
        "preds": {"rows": 1, "objects": 2, "classifications": 3, "replaced": 0}
    }
    out = tmp_path / "preds.json"
    result = run("export", "encord", "G", str(out), "--branch", "preds", "--store", store)
    assert result.exit_code == 0
    assert "Exported 1 row(s) of branch 'preds'" in result.stdout
    (row,) = json.loads(out.read_text())
    fixture = json.loads(GROUP.read_text())
    assert row["object_answers"] == fixture["object_answers"]
    assert row["branch_name"] == "preds"
    assert sorted(u["data_title"] for u in row["data_units"].values()) == sorted(
        u["data_title"] for u in fixture["data_units"].values()
    )

    # the export imports back (onto another branch) and exports identically
    assert (
        run("import", "encord", "G", str(out), "--branch", "again", "--store", store).exit_code == 0
    )
    again = tmp_path / "again.json"
    run("export", "encord", "G", str(again), "--branch", "again", "--store", store)
    (row2,) = json.loads(again.read_text())
    skip = {"label_hash", "branch_name", "created_at", "last_edited_at"}
    assert {k: v for k, v in row.items() if k not in skip} == {
        k: v for k, v in row2.items() if k not in skip
    }


def test_export_to_stdout(store: str) -> None:
    run("import", "encord", "G", str(GROUP), "--store", store)
    result = run("export", "encord", "G", "-", "--store", store)
    assert result.exit_code == 0
    (row,) = json.loads(result.stdout)
    assert row["data_title"] == "image-group-8375e"


def test_bad_record_is_exit_1_and_changes_nothing(store: str, tmp_path: Path) -> None:
    row = json.loads(GROUP.read_text())
    first = next(iter(row["data_units"].values()))
    first["labels"]["objects"][0]["boundingBox"]["w"] = -0.2
    row["branch_name"] = "other"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([row]))
    result = run("import", "encord", "G", str(GROUP), str(bad), "--store", store)
    assert result.exit_code == 1
    assert isinstance(result.exception, ImportFormatError)
    assert "object ApGxvBOz, boundingBox" in str(result.exception)
    assert json.loads(run("branches", "G", "--json", "--store", store).stdout) == []

    env = {**os.environ, "COLUMNS": "1000"}
    proc = subprocess.run(
        [str(PREDSCOPE), "import", "encord", "G", str(bad), "--store", store],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {bad}:row 0 ('image-group-8375e')")
    assert "malformed coordinates" in line


def test_export_of_an_unknown_branch_is_exit_1_and_writes_nothing(
    store: str, tmp_path: Path
) -> None:
    from predscope.exceptions import ResourceNotFoundError

    assert (
        run("import", "encord", "G", str(GROUP), "--branch", "preds", "--store", store).exit_code
        == 0
    )
    out = tmp_path / "typo.json"
    result = run("export", "encord", "G", str(out), "--branch", "pred", "--store", store)
    assert result.exit_code == 1
    assert isinstance(result.exception, ResourceNotFoundError)
    assert str(result.exception).startswith(
        "project G has no rows on branch 'pred'; its branches are: preds"
    )
    assert not out.exists()
    result = run("export", "encord", "G", "-", "--branch", "pred", "--store", store)
    assert result.exit_code == 1 and result.stdout == ""
    # An existing branch exports, and so does main while it is still empty (the default).
    assert (
        run("export", "encord", "G", str(out), "--branch", "preds", "--store", store).exit_code == 0
    )
    assert len(json.loads(out.read_text())) == 1
    assert json.loads(run("export", "encord", "G", "-", "--store", store).stdout) == []


def test_export_of_a_branch_with_rows_but_no_objects(store: str, tmp_path: Path) -> None:
    row = json.loads(GROUP.read_text())
    for unit in row["data_units"].values():
        unit["labels"] = {"objects": [], "classifications": []}
    row["object_answers"], row["classification_answers"], row["object_actions"] = {}, {}, {}
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(row))
    assert (
        run("import", "encord", "G", str(bare), "--branch", "bare", "--store", store).exit_code == 0
    )
    result = run("export", "encord", "G", "-", "--branch", "bare", "--store", store)
    assert result.exit_code == 0, result.output
    (exported,) = json.loads(result.stdout)
    assert exported["branch_name"] == "bare" and exported["object_answers"] == {}


def test_missing_files_argument_is_usage_error(store: str) -> None:
    assert run("import", "encord", "G", "--store", store).exit_code == 2
