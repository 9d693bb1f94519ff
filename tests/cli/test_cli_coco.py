"""``predscope import coco|yolo|voc`` and ``export coco`` end to end through the Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app

DATA = Path(__file__).resolve().parents[2] / "data"
D2 = DATA / "detectron2-coco-mini"
PADILLA = DATA / "padilla-voc-sample-7"


def _ontology(tmp_path: Path) -> Path:
    path = tmp_path / "ontology.json"
    objects = [("person", "bounding_box", "aaaa0001"), ("person", "bitmask", "aaaa0002")]
    path.write_text(
        json.dumps(
            {
                "objects": [
                    {
                        "id": str(i + 1),
                        "name": n,
                        "color": "#000000",
                        "shape": s,
                        "featureNodeHash": h,
                        "required": False,
                    }
                    for i, (n, s, h) in enumerate(objects)
                ],
                "classifications": [],
            }
        )
    )
    return path


@pytest.fixture
def cli(tmp_path: Path) -> tuple[CliRunner, list[str]]:
    from predscope.services.projects import add_data, create_project
    from predscope.store.engine import open_store

    store_dir = str(tmp_path / "store")
    store = open_store(store_dir)
    project = create_project(store, "d2", json.loads(_ontology(tmp_path).read_text()))
    gt = json.loads((D2 / "gt_val2017_139_285.json").read_text())
    units = [
        {"title": im["file_name"], "width": im["width"], "height": im["height"]}
        for im in gt["images"]
    ]
    units += [{"title": f"0000{i}.jpg", "width": 200, "height": 200} for i in range(1, 8)]
    add_data(store, project, units)
    store.close()
    return CliRunner(), ["--store", store_dir]


def _run(cli: tuple[CliRunner, list[str]], *args: str) -> tuple[int, str]:
    runner, store = cli
    result = runner.invoke(build_app(), [*args, *store])
    # ``main()`` prints PredscopeError as one line; the bare app leaves it on ``exception``.
    error = "" if result.exception is None else str(result.exception)
    return result.exit_code, result.output + error


def test_import_and_export_coco(tmp_path: Path, cli: tuple[CliRunner, list[str]]) -> None:
    code, out = _run(
        cli, "import", "coco", "d2", str(D2 / "gt_val2017_139_285.json"), "--ground-truth"
    )
    assert code == 0, out
    assert "wrote 2 objects in 1 rows" in out
    code, out = _run(
        cli,
        "import",
        "coco",
        "d2",
        str(D2 / "dt_maskrcnn_139.json"),
        "--branch",
        "mrcnn",
        "--dry-run",
        "--json",
    )
    assert code == 0, out
    report = json.loads(out)
    assert (report["objects"], report["dry_run"], report["mapping_source"]) == (3, True, "recorded")
    code, out = _run(
        cli, "import", "coco", "d2", str(D2 / "dt_maskrcnn_139.json"), "--branch", "mrcnn"
    )
    assert code == 0 and "wrote 3 objects" in out
    code, out = _run(
        cli, "import", "coco", "d2", str(D2 / "dt_maskrcnn_139.json"), "--branch", "mrcnn"
    )
    assert code == 1 and "already holds labels" in out and "this very file" in out
    assert "--replace" in out and "--append" in out
    target = tmp_path / "dt.json"
    code, out = _run(cli, "export", "coco", "d2", str(target), "--branch", "mrcnn", "--results")
    assert code == 0, out
    exported = json.loads(target.read_text())
    assert sorted(d["score"] for d in exported) == sorted(
        d["score"] for d in json.loads((D2 / "dt_maskrcnn_139.json").read_text())
    )
    code, out = _run(cli, "export", "coco", "d2", str(tmp_path / "gt.json"), "--json")
    assert code == 0 and json.loads(out)["annotations"] == 2


def test_import_errors_exit_1(tmp_path: Path, cli: tuple[CliRunner, list[str]]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [}')
    code, out = _run(cli, "import", "coco", "d2", str(bad), "--branch", "x")
    assert code == 1 and "bad.json" in out
    code, out = _run(cli, "import", "coco", "d2", str(D2 / "dt_maskrcnn_139.json"))
    assert code == 1 and "--branch NAME" in out and "--ground-truth" in out


def test_import_yolo_and_voc(tmp_path: Path, cli: tuple[CliRunner, list[str]]) -> None:
    code, out = _run(
        cli,
        "import",
        "yolo",
        "d2",
        str(PADILLA / "detections_rel"),
        "--branch",
        "dets",
        "--class-names",
        "--score-column",
        "second",
    )
    assert code == 0, out
    assert "wrote 24 objects in 7 rows" in out
    xml = tmp_path / "a.xml"
    xml.write_text(
        "<annotation><filename>00001.jpg</filename><size><width>200</width><height>200</height>"
        "</size><object><name>person</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax>"
        "<ymax>10</ymax></bndbox></object></annotation>"
    )
    code, out = _run(cli, "import", "voc", "d2", str(xml), "--branch", "voc", "--json")
    assert code == 0, out
    assert json.loads(out)["objects"] == 1


@pytest.mark.parametrize(
    "command",
    [
        ["coco", str(D2 / "dt_maskrcnn_139.json")],
        ["yolo", str(PADILLA / "detections_rel"), "--class-names", "--score-column", "second"],
        ["voc", "VOC"],
        ["encord", str(DATA / "encord-label-rows" / "label_row_native_image.json")],
    ],
)
def test_an_empty_branch_is_an_error_not_main(
    tmp_path: Path, cli: tuple[CliRunner, list[str]], command: list[str]
) -> None:
    """``--branch "$UNSET"`` used to write predictions into the ground truth."""
    if command[1] == "VOC":
        xml = tmp_path / "a.xml"
        xml.write_text(
            "<annotation><filename>00001.jpg</filename><size><width>200</width><height>200"
            "</height></size><object><name>person</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
            "<xmax>10</xmax><ymax>10</ymax></bndbox></object></annotation>"
        )
        command = ["voc", str(xml)]
    code, out = _run(cli, "import", *command[:1], "d2", *command[1:], "--branch", "")
    assert code == 1 and "--branch NAME: branch name '' is not allowed" in out
    from predscope.store import label_rows
    from predscope.store.engine import open_store

    with open_store(cli[1][1]) as store, store.read() as conn:
        rows = label_rows.list_row_metadata(conn, 1, branch_name=None, include_all_branches=True)
    assert [r for r in rows if r.label_hash] == []  # nothing written anywhere, main included


def test_replace_with_append_and_an_empty_import_exit_1(
    tmp_path: Path, cli: tuple[CliRunner, list[str]]
) -> None:
    dets = str(D2 / "dt_maskrcnn_139.json")
    code, out = _run(cli, "import", "coco", "d2", dets, "--branch", "b", "--replace", "--append")
    assert code == 1 and "--replace and --append exclude each other" in out
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    code, out = _run(cli, "import", "coco", "d2", str(empty), "--branch", "b")
    assert code == 1 and "nothing to import into branch 'b': it holds no annotations" in out
