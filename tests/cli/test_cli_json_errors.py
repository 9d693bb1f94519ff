"""With ``--json`` every error is JSON on stdout, with the stable code and the usual exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from predscope import exceptions
from predscope.cli.app import build_app, main, wants_json
from predscope.exceptions import ResourceNotFoundError

ROOT = Path(__file__).resolve().parents[2]
ONTOLOGY = ROOT / "data" / "encord-label-rows" / "ontology_all_types_dict.json"


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


def json_commands() -> dict[tuple[str, ...], Any]:
    """Every command that takes ``--json`` (all groups walked), by its path."""
    found: dict[tuple[str, ...], Any] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))
        if any(p.name == "as_json" for p in getattr(command, "params", [])):
            found[path] = command

    walk(typer.main.get_command(build_app()), ())
    return found


def test_not_found_is_json_with_the_class_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(["labels", "nope", "--store", str(tmp_path), "--json"], capsys)
    assert code == 1 and err == ""
    error = json.loads(out)["error"]
    assert error["code"] == ResourceNotFoundError.code == "not_found"
    assert error["message"].startswith("project 'nope': no project has this hash or title")


def test_without_json_the_error_stays_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(["labels", "nope", "--store", str(tmp_path)], capsys)
    assert (code, out) == (1, "")
    assert err.startswith("error: project 'nope'")


def test_every_json_command_reports_usage_errors_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = json_commands()
    assert ("labels",) in commands and ("export", "coco") in commands and len(commands) >= 8
    for path in commands:
        code, out, _ = run_main([*path, "--no-such-option", "--json"], capsys)
        assert code == 2, path
        error = json.loads(out)["error"]
        assert error["code"] == "usage_error", path
        assert error["message"].startswith("No such option: --no-such-option"), path


def test_every_json_command_reports_our_errors_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store that is a file cannot be opened: each command says why in JSON, with its code."""
    not_a_store = tmp_path / "file"
    not_a_store.write_text("x")
    codes = {
        cls.code
        for cls in vars(exceptions).values()
        if isinstance(cls, type) and issubclass(cls, exceptions.PredscopeError)
    }
    checked = 0
    for path, command in json_commands().items():
        params = {p.name: p for p in command.params}
        if "store" not in params:
            continue
        # An existing file fits every argument and required option (paths and names alike).
        args = [str(ONTOLOGY) for p in command.params if p.param_type_name == "argument"]
        for p in command.params:
            if p.param_type_name == "option" and p.required:
                args += [p.opts[0], str(ONTOLOGY)]
        code, out, _ = run_main([*path, *args, "--store", str(not_a_store), "--json"], capsys)
        error = json.loads(out)["error"]
        assert error["message"], (path, out)
        # Some commands refuse the placeholder arguments before opening the store (exit 2).
        assert (code == 1 and error["code"] in codes) or (code, error["code"]) == (
            2,
            "usage_error",
        ), (path, out)
        checked += code == 1
    assert checked >= 5


def test_a_bad_option_value_is_a_json_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["export", "coco", "P", "o.json", "--iou-type", "zz", "--json"]
    code, out, _ = run_main([*args, "--store", str(tmp_path)], capsys)
    assert code == 2
    assert json.loads(out)["error"] == {
        "code": "usage_error",
        "message": "Invalid value: --iou-type must be auto, bbox or segm",
    }


def test_json_after_a_double_dash_is_a_value() -> None:
    assert wants_json(["labels", "P", "--json"])
    assert not wants_json(["labels", "P", "--", "--json"])
    assert not wants_json(["labels", "P", "--json-like"])
