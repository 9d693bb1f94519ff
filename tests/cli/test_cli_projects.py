"""``predscope project|data|ontology|branches`` through the real Typer app and console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.exceptions import ImportFormatError, ResourceExistsError, ResourceNotFoundError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
ONTOLOGY = DATA / "encord-label-rows" / "ontology_all_types_dict.json"
IMAGES = DATA / "skimage-images" / "images"
NATIVE = DATA / "encord-label-rows" / "label_row_native_image.json"
PREDSCOPE = Path(sys.executable).with_name("predscope")

runner = CliRunner()


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.exception


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


def test_create_list_show(store: str) -> None:
    code, out, _ = run("project", "create", "Demo", "--ontology", str(ONTOLOGY), "--store", store)
    assert code == 0, out
    assert "Created project 'Demo'" in out
    code, out, _ = run("project", "list", "--json", "--store", store)
    assert code == 0
    (listed,) = json.loads(out)
    assert listed["title"] == "Demo"
    assert listed["data_units"] == 0
    assert listed["ontology"] == {"objects": 12, "classifications": 4}
    code, out, _ = run("project", "show", listed["project_hash"], "--store", store)
    assert code == 0
    assert "Project: Demo" in out
    assert "Ontology: 12 objects, 4 classifications" in out
    assert "Branches: none yet" in out


def test_duplicate_title_and_unknown_project_are_user_errors(store: str) -> None:
    assert run("project", "create", "A", "--ontology", str(ONTOLOGY), "--store", store)[0] == 0
    code, _, exc = run("project", "create", "A", "--ontology", str(ONTOLOGY), "--store", store)
    assert code == 1 and isinstance(exc, ResourceExistsError)
    code, _, exc = run("project", "show", "missing", "--store", store)
    assert code == 1 and isinstance(exc, ResourceNotFoundError)


def test_malformed_ontology_names_line_and_column(store: str, tmp_path: Path) -> None:
    bad = tmp_path / "onto.json"
    bad.write_text('{"objects": [\n  {"id": "1",}\n]}')
    code, _, exc = run("project", "create", "A", "--ontology", str(bad), "--store", store)
    assert code == 1
    assert isinstance(exc, ImportFormatError)
    assert "line 2, column 14" in str(exc)


def test_usage_errors_exit_2(store: str) -> None:
    assert run("project", "create", "A", "--store", store)[0] == 2  # --ontology missing
    assert run("project", "frobnicate")[0] == 2
    assert run("labels", "A", "--branch", "x", "--all-branches", "--store", store)[0] == 2


def test_data_add_folder_records_real_sizes(store: str) -> None:
    run("project", "create", "P", "--ontology", str(ONTOLOGY), "--store", store)
    code, out, _ = run("data", "add", "P", str(IMAGES), "--json", "--store", store)
    assert code == 0, out
    units = json.loads(out)["added"]
    files = sorted(p for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg"))
    assert [u["data_title"] for u in units] == [p.name for p in files]
    for unit, path in zip(units, files, strict=True):
        with Image.open(path) as image:
            assert (unit["width"], unit["height"]) == image.size
        assert unit["data_type"] == "image"
    code, out, _ = run("project", "show", "P", "--json", "--store", store)
    summary = json.loads(out)
    assert summary["data_units"] == len(files)
    assert summary["data_types"] == {"image": len(files)}


def test_ontology_show_text_and_json(store: str) -> None:
    run("project", "create", "P", "--ontology", str(ONTOLOGY), "--store", store)
    code, out, _ = run("ontology", "show", "P", "--store", store)
    assert code == 0
    assert "object (bounding_box): Nested Box  featureNodeHash=MTA2MjAx uid=5" in out
    assert "    option: Angry  featureNodeHash=MTE5MjQ3 uid=5.2.1" in out
    assert "classification: Radio classification 1  featureNodeHash=NzIxNTU1" in out
    code, out, _ = run("ontology", "show", "P", "--json", "--store", store)
    assert json.loads(out) == json.loads(ONTOLOGY.read_text())


def test_branches_lists_counts(store: str) -> None:
    run("project", "create", "P", "--ontology", str(ONTOLOGY), "--store", store)
    code, out, _ = run("branches", "P", "--store", store)
    assert code == 0 and "no label rows on any branch yet" in out
    from predscope.services.projects import add_data, get_project
    from predscope.store.engine import open_store

    with open_store(store) as st:
        add_data(
            st, get_project(st, "P"), [{"title": "rousseau_2.jpg", "width": 1200, "height": 924}]
        )
    for branch in ("main", "model-b", "encord-alice"):
        args = ("import", "encord", "P", str(NATIVE), "--branch", branch, "--store", store)
        assert run(*args)[0] == 0
    code, out, _ = run("branches", "P", "--json", "--store", store)
    assert [b["name"] for b in json.loads(out)] == ["main", "encord-alice", "model-b"]
    assert {b["objects"] for b in json.loads(out)} == {3}
    code, out, _ = run("branches", "P", "--store", store)
    assert "ground truth" in out and "consensus" in out and "prediction" in out


def test_console_script_exit_codes_and_one_line_errors(store: str) -> None:
    env = {**os.environ, "COLUMNS": "1000"}
    ok = subprocess.run(
        [str(PREDSCOPE), "project", "create", "S", "--ontology", str(ONTOLOGY), "--store", store],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "Created project 'S'" in ok.stdout
    missing = subprocess.run(
        [str(PREDSCOPE), "project", "show", "nope", "--store", store],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert missing.returncode == 1
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1, missing.stderr
    assert lines[0].startswith("error: project 'nope'") and "'S'" in lines[0]
    usage = subprocess.run(
        [str(PREDSCOPE), "project", "create", "T", "--store", store],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert usage.returncode == 2
    assert "--ontology" in usage.stderr


def test_data_add_titles_keep_folders_and_re_adding_skips(store: str, tmp_path: Path) -> None:
    import shutil

    cams = tmp_path / "cams"
    for cam, source in (("cam1", "camera.png"), ("cam2", "coins.png")):
        (cams / cam).mkdir(parents=True)
        shutil.copy(IMAGES / source, cams / cam / "0001.png")
    run("project", "create", "P", "--ontology", str(ONTOLOGY), "--store", store)
    code, _, exc = run("data", "add", "P", str(cams), "--title-from", "name", "--store", store)
    assert code == 1 and isinstance(exc, ResourceExistsError)
    assert "cam1/0001.png" in str(exc) and "cam2/0001.png" in str(exc)
    code, out, _ = run("data", "add", "P", str(cams), "--json", "--store", store)
    assert code == 0 and [u["data_title"] for u in json.loads(out)["added"]] == [
        "cam1/0001.png",
        "cam2/0001.png",
    ]
    code, out, _ = run("data", "add", "P", str(cams), "--store", store)
    assert code == 0 and "Added 0 data unit(s) to 'P', skipped 2 already registered" in out
