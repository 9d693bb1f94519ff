"""The README's Python example runs as written, and does what its comments say."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from predscope.sdk.client import Client

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
