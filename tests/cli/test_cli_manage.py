"""`branches remove|rename`, `data remove`, `project remove`, `history`, as users run them."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.exceptions import InvalidArgumentsError

ROOT = Path(__file__).resolve().parents[2]
SKIMAGE = ROOT / "data" / "skimage-images"
PREDSCOPE = Path(sys.executable).with_name("predscope")

runner = CliRunner()


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.exception


@pytest.fixture
def store(tmp_path: Path) -> str:
    """Project P: the photos, ground truth on main, mediapipe's detections on 'mp'."""
    location = str(tmp_path / "store")
    onto = str(SKIMAGE / "demo_ontology.json")
    assert run("project", "create", "P", "--ontology", onto, "--store", location)[0] == 0
    assert run("data", "add", "P", str(SKIMAGE / "images"), "--store", location)[0] == 0
    gt = str(SKIMAGE / "demo_ground_truth.json")
    assert run("import", "coco", "P", gt, "--ground-truth", "--store", location)[0] == 0
    preds, images = SKIMAGE / "pred_mediapipe_0.10.21.json", SKIMAGE / "images_coco.json"
    args = ("import", "coco", "P", str(preds), "--branch", "mp", "--gt", str(images))
    assert run(*args, "--store", location)[0] == 0
    return location


def _branches(store: str) -> list[str]:
    code, out, _ = run("branches", "P", "--json", "--store", store)
    assert code == 0, out
    return [b["name"] for b in json.loads(out)]


def _history(store: str, project: str = "P") -> list[dict[str, object]]:
    code, out, exc = run("history", project, "--json", "--store", store)
    assert code == 0, exc
    return list(json.loads(out))


def test_without_a_terminal_and_without_yes_nothing_is_removed(store: str) -> None:
    for args in (
        ("branches", "remove", "P", "mp"),
        ("branches", "rename", "P", "mp", "mp2"),
        ("data", "remove", "P", "coins.png"),
        ("project", "remove", "P", "--force"),
    ):
        code, _, exc = run(*args, "--store", store)
        assert code == 1 and isinstance(exc, InvalidArgumentsError), args
        assert "pass --yes" in str(exc)
    assert _branches(store) == ["main", "mp"]
    assert [e["action"] for e in _history(store)] == ["add data", "import coco", "import coco"]


def test_remove_and_rename_with_yes_are_recorded(store: str) -> None:
    code, out, exc = run("branches", "rename", "P", "mp", "mediapipe", "--yes", "--store", store)
    assert code == 0, exc
    assert "Renamed branch 'mp' of 'P' to 'mediapipe' (2 rows, 1 import record(s))" in out
    code, _, exc = run("branches", "rename", "P", "main", "gt", "--yes", "--store", store)
    assert code == 1 and "--force" in str(exc)
    code, out, _ = run("branches", "remove", "P", "mediapipe", "--yes", "--json", "--store", store)
    assert code == 0 and json.loads(out)["rows"] == 2
    assert _branches(store) == ["main"]
    code, out, exc = run("data", "remove", "P", "coins.png", "--yes", "--store", store)
    assert code == 0, exc
    code, _, exc = run("data", "remove", "P", "astronaut.png", "--yes", "--store", store)
    assert code == 1 and "ground-truth" in str(exc)  # ground truth on main needs --force
    events = _history(store)
    assert [e["action"] for e in events][-3:] == ["rename branch", "remove branch", "remove data"]
    assert {e["origin"] for e in events[-3:]} == {"cli"}
    code, out, _ = run("history", "P", "--store", store)
    assert "rename branch" in out and "remove data" in out
    code, _, exc = run("project", "remove", "P", "--yes", "--force", "--store", store)
    assert code == 0, exc
    assert run("project", "list", "--json", "--store", store)[1].strip() == "[]"
    assert _history(store)[-1]["action"] == "remove project"  # found by title after removal


def _answer(store: str, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script with a real terminal on stdin and type ``answer``."""
    main, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(PREDSCOPE), *args, "--store", store],
            stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        os.write(main, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(main)
        os.close(secondary)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.slow
def test_a_person_at_a_terminal_is_asked_first(store: str) -> None:
    declined = _answer(store, "n", "branches", "remove", "P", "mp")
    assert declined.returncode == 1, declined.stderr
    assert "Remove branch 'mp' of 'P' (2 rows, 3 objects)?" in declined.stdout
    assert _branches(store) == ["main", "mp"]
    accepted = _answer(store, "y", "branches", "remove", "P", "mp")
    assert accepted.returncode == 0, accepted.stderr
    assert _branches(store) == ["main"]
