"""A listing or export that fails half-way (a stored row made invalid in the database) ends
cleanly: stdout ends with the error as its last line, an output file is left as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from predscope.services.exports.listing import BATCH_ROWS
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.store.engine import open_store

DATA = Path(__file__).resolve().parents[2] / "data" / "skimage-images"
UNITS = BATCH_ROWS + 50  # the bad row sits in the second batch, after output has begun
BAD_TITLE = f"u{UNITS - 1:04}.png"


@pytest.fixture(scope="module")
def broken_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A project whose last label row holds a box of negative width (as if edited by hand)."""
    work = tmp_path_factory.mktemp("broken")
    folder = str(work / "store")
    titles = [f"u{i:04}.png" for i in range(UNITS)]
    dataset = {
        "images": [
            {"id": i + 1, "file_name": t, "width": 40, "height": 30} for i, t in enumerate(titles)
        ],
        "annotations": [
            {
                "id": i + 1,
                "image_id": i + 1,
                "category_id": 1,
                "bbox": [1, 2, 10, 5],
                "area": 50,
                "iscrowd": 0,
            }
            for i in range(UNITS)
        ],
        "categories": [{"id": 1, "name": "face"}],
    }
    gt = work / "gt.json"
    gt.write_text(json.dumps(dataset))
    with open_store(folder) as store:
        project = create_project(store, "broken", DATA / "demo_ontology.json")
        add_data(store, project, [{"title": t, "width": 40, "height": 30} for t in titles])
        import_coco(store, project, gt, ImportOptions(ground_truth=True))
        with store.begin() as conn:
            row_id, document = conn.execute(
                text(
                    "SELECT r.id, r.document FROM label_rows r JOIN data_units u "
                    "ON u.id = r.data_unit_id WHERE u.data_title = :t"
                ),
                {"t": BAD_TITLE},
            ).one()
            doc = orjson.loads(document)
            [unit] = doc["data_units"].values()
            unit["labels"]["objects"][0]["boundingBox"]["w"] = -0.5
            conn.execute(
                text("UPDATE label_rows SET document = :d WHERE id = :i"),
                {"d": orjson.dumps(doc), "i": row_id},
            )
    return folder


def _run(store: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "predscope", *args, "--store", store],
        capture_output=True,
        timeout=300,
        check=False,
    )


def _error_last_line(stdout: bytes) -> dict[str, str]:
    body, _, last = stdout.rstrip(b"\n").rpartition(b"\n")
    assert body.startswith(b"[") or body.startswith(b"{")  # output had begun
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)  # and is visibly incomplete
    error: dict[str, str] = json.loads(last)["error"]
    return error


def test_labels_json_ends_with_the_error_line(broken_store: str) -> None:
    result = _run(broken_store, "labels", "broken", "--json")
    assert result.returncode == 1
    error = _error_last_line(result.stdout)
    assert error["code"] == "invalid_coordinates"
    assert b"u0000.png" in result.stdout  # the first batch was written before the failure


def test_labels_text_puts_the_error_on_stderr(broken_store: str) -> None:
    result = _run(broken_store, "labels", "broken")
    assert result.returncode == 1
    assert b"Title: u0000.png" in result.stdout
    assert b"error:" in result.stderr and b"error" not in result.stdout


def test_export_to_stdout_ends_with_the_error_line(broken_store: str) -> None:
    result = _run(broken_store, "export", "coco", "broken", "-", "--json")
    assert result.returncode == 1
    assert _error_last_line(result.stdout)["code"] == "invalid_coordinates"


@pytest.mark.parametrize("command", [["coco"], ["coco", "--results"], ["encord"]])
def test_export_file_is_left_as_it_was(
    broken_store: str, tmp_path: Path, command: list[str]
) -> None:
    fresh, kept = tmp_path / "new.json", tmp_path / "old.json"
    kept.write_text("previous export")
    for out in (fresh, kept):
        result = _run(broken_store, "export", command[0], "broken", str(out), *command[1:])
        assert result.returncode == 1, result.stderr
        assert b"error:" in result.stderr and b"Traceback" not in result.stderr
    assert not fresh.exists()
    assert kept.read_text() == "previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # no partial file left


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["labels", "nope", "--json"], "not_found", "nope"),
        (["labels", "broken", "--branch", "nob", "--json"], "not_found", "nob"),
        (["labels", "broken", "--branch", "", "--json"], "invalid_branch_name", "''"),
        (["export", "coco", "nope", "{out}", "--json"], "not_found", "nope"),
        (["export", "coco", "broken", "{out}", "--branch", "nob", "--json"], "not_found", "nob"),
        (
            ["export", "coco", "broken", "{out}", "--branch", "", "--json"],
            "invalid_branch_name",
            "''",
        ),
        (["export", "coco", "broken", "{missing}", "--json"], "output_path", "no-such-folder"),
        (["export", "coco", "broken", "{folder}", "--json"], "output_path", "is a folder"),
        (["export", "encord", "broken", "{missing}", "--json"], "output_path", "no-such-folder"),
    ],
)
def test_wrong_input_is_named_and_writes_nothing(
    broken_store: str, tmp_path: Path, args: list[str], code: str, named: str
) -> None:
    places = {
        "out": str(tmp_path / "out.json"),
        "missing": str(tmp_path / "no-such-folder" / "out.json"),
        "folder": str(tmp_path),
    }
    result = _run(broken_store, *[a.format(**places) for a in args])
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == code
    assert named in error["message"]
    assert list(tmp_path.iterdir()) == []
