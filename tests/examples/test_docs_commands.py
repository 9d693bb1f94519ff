"""docs/import-export.md runs as written: every command it shows, and the output it quotes.

The doc is executed top to bottom in one temporary folder (with ``data/`` linked in, so its paths
are the repository's): ``<!-- file: NAME -->`` before a block writes that block to NAME,
``<!-- run -->`` before a Python block executes it, and each ``$ predscope ...`` line of a console
block runs through the Typer app. The lines under a command must appear in its output in order
(``...`` inside a line matches anything; a line that is only ``...`` is skipped); an ``error:``
line means the command must fail with that message.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.exceptions import PredscopeError

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "import-export.md"
BLOCK = re.compile(
    r"(?:<!-- (file: (?P<file>\S+)|run) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S
)


@dataclass
class Command:
    argv: list[str]
    expected: list[str] = field(default_factory=list)


def _console_commands(body: str) -> list[Command]:
    commands: list[Command] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            commands.append(Command(shlex.split(line[2:])))
        elif commands:
            commands[-1].expected.append(line.rstrip())
        else:
            raise AssertionError(f"output line before any command in the doc: {line!r}")
    return commands


def _pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split("...")))


def _check_output(command: Command, output: str) -> None:
    lines = [line.rstrip() for line in output.splitlines()]
    position = 0
    for expected in command.expected:
        if expected.strip() in ("", "..."):
            continue
        pattern = _pattern(expected)
        while position < len(lines) and not pattern.fullmatch(lines[position]):
            position += 1
        if position == len(lines):
            raise AssertionError(
                f"`{shlex.join(command.argv)}`: the doc quotes {expected!r}, not found in order "
                f"in the output:\n{output}"
            )
        position += 1


def _run(runner: CliRunner, command: Command, env: dict[str, str]) -> None:
    if command.argv[0] == "export":
        name, _, value = command.argv[1].partition("=")
        assert name == "PREDSCOPE_HOME" and value.startswith("$PWD/")
        return
    assert command.argv[0] == "predscope", f"the doc shows a non-predscope command: {command.argv}"
    result = runner.invoke(build_app(), command.argv[1:], env=env)
    output = result.output
    if isinstance(result.exception, PredscopeError):
        output += f"error: {result.exception}\n"  # what ``cli.app.main`` prints for it
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    wants_error = any(line.startswith("error:") for line in command.expected)
    assert (result.exit_code != 0) == wants_error, (command.argv, result.exit_code, output)
    _check_output(command, output)


def test_doc_blocks_are_parsed() -> None:
    """The parser sees the doc's examples (a broken fence would silently test nothing)."""
    blocks = list(BLOCK.finditer(DOC.read_text(encoding="utf-8")))
    commands = [c for b in blocks if b["lang"] == "console" for c in _console_commands(b["body"])]
    assert len(commands) >= 25
    assert sum(1 for b in blocks if b["file"]) >= 4
    assert any(c.argv[:3] == ["predscope", "export", "coco"] for c in commands)
    assert {"yolo", "voc", "encord", "coco"} <= {
        c.argv[2] for c in commands if c.argv[1] == "import"
    }


def test_doc_commands_run_as_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    env = {"PREDSCOPE_HOME": str(tmp_path / "docs-store"), "COLUMNS": "100"}
    monkeypatch.setenv("PREDSCOPE_HOME", env["PREDSCOPE_HOME"])
    runner = CliRunner()
    text = DOC.read_text(encoding="utf-8")
    ran = 0
    for block in BLOCK.finditer(text):
        body = block["body"]
        if block["file"]:
            target = tmp_path / block["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        elif block.group(1) == "run":
            exec(compile(body, str(DOC), "exec"), {"__name__": "doc"})
        elif block["lang"] == "console":
            for command in _console_commands(body):
                _run(runner, command, env)
                ran += 1
    assert ran >= 25
    # What the doc says the exports and imports did, checked on the files and the store.
    import json

    gt = json.loads((tmp_path / "gt.json").read_text(encoding="utf-8"))
    haar = json.loads((tmp_path / "haar.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in gt["categories"]] == ["face", "person", "text"]
    assert all({"iscrowd", "area"} <= set(a) for a in gt["annotations"])
    assert max(d["score"] for d in haar) == 7.4477  # kept as given, not squashed into 0..1
    source = json.loads((ROOT / "data/skimage-images/pred_opencv_haar_hog.json").read_text())
    assert sorted((d["image_id"], d["bbox"]) for d in haar) == sorted(
        (d["image_id"], [float(v) for v in d["bbox"]]) for d in source
    )
    assert os.path.isdir(tmp_path / "docs-store")
    _check_encord_error(runner, env, text)


def _check_encord_error(runner: CliRunner, env: dict[str, str], text: str) -> None:
    """The Encord error the doc quotes, from the doc's own export with one feature hash changed."""
    import json

    [quoted] = re.findall(r"```text\n(error: bad-rows\.json:.*?)\n```", text, re.S)
    rows = json.loads(Path("main-rows.json").read_text(encoding="utf-8"))
    entry = next(iter(rows[0]["data_units"].values()))["labels"]["objects"][0]
    entry["featureHash"] = "nope1234"
    Path("bad-rows.json").write_text(json.dumps(rows), encoding="utf-8")
    command = Command(
        ["predscope", "import", "encord", "demo", "bad-rows.json", "--append"], [quoted]
    )
    _run(runner, command, env)
