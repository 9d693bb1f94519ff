"""The README's Python example runs as written, and does what its comments say."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.sdk.client import Client
from tests.server.live import free_port

ROOT = Path(__file__).resolve().parents[2]
SKIMAGE = ROOT / "data" / "skimage-images"


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [example] = _python_blocks()
    shutil.copy(SKIMAGE / "demo_ontology.json", tmp_path / "ontology.json")
    shutil.copytree(SKIMAGE / "images", tmp_path / "images")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {"__name__": "readme"})

    with Client(tmp_path / "my-store") as client:
        project = client.get_project("faces")
        rows = project.list_label_rows_v2(branch_name="model-v2")
        assert sorted(r.data_title for r in rows) == ["astronaut.png", "camera.png"]
        for row in rows:
            row.initialise_labels()
            [face] = row.get_object_instances()
            [annotation] = face.get_annotations()
            assert face.object_name == "face"
            assert (annotation.confidence, annotation.manual_annotation) == (0.8, False)
        assert project.list_branches() == ["model-v2"]
    assert os.path.isdir(tmp_path / "my-store")


def _shipped_coco_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### From two COCO files to an explorable prediction set", 1)[1]
    blocks = re.findall(r"```bash\n(.*?)```", section.split("\n## ", 1)[0], flags=re.S)
    [block] = [b for b in blocks if "data/coco-val2014-100" in b]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_readme_coco_onboarding_commands_run_on_the_shipped_case(tmp_path: Path) -> None:
    """create --from-coco, import coco, analyse, then serve: as the README writes them."""
    commands = _shipped_coco_commands()
    assert [c[:2] for c in commands] == [
        ["predscope", "project"],
        ["predscope", "import"],
        ["predscope", "analyse"],
        ["predscope", "serve"],
    ]
    store = str(tmp_path / "store")
    env = {"PREDSCOPE_HOME": store}
    outputs = []
    for command in commands[:3]:
        result = CliRunner().invoke(build_app(), command[1:], env=env)
        assert result.exit_code == 0, (command, result.output)
        outputs.append(result.output)
    assert "Data units: 100 (by name and size)" in outputs[0]
    assert "wrote 734 objects" in outputs[1]
    assert "maxDets=100 ] = 0.505" in outputs[2] and "] = 0.697" in outputs[2]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", *commands[3], "--port", str(port)],
        env={**os.environ, "PREDSCOPE_HOME": store},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                sets = httpx.get(f"{url}/api/projects/coco-val/prediction-sets", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None
                time.sleep(0.1)
        body = sets.json()
        items = body["items"] if isinstance(body, dict) else body
        assert [s["branch"] for s in items] == ["fake-bbox"]
        assert abs(items[0]["metrics"]["AP"] - 0.5045806987249628) < 1e-12
    finally:
        process.terminate()
        process.wait(timeout=20)
