"""Progress bars: drawn for a person when asked, silent otherwise, and never change results."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from predscope.services.exports.encord import export_encord
from predscope.services.imports.encord import import_encord
from predscope.services.progress import progress_bar
from predscope.services.projects import add_data, create_project, list_data_units
from predscope.store.engine import open_store

DATA = Path(__file__).resolve().parents[2] / "data"
ROWS = DATA / "encord-label-rows"


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def test_enabled_bar_draws_its_description_and_completion() -> None:
    console, out = _terminal()
    with progress_bar(True, "importing 3 label rows", 3, console=console) as advance:
        for _ in range(3):
            advance()
    text = out.getvalue()
    assert "importing 3 label rows" in text
    assert "100%" in text


def test_disabled_bar_draws_nothing() -> None:
    console, out = _terminal()
    with progress_bar(False, "quiet", 3, console=console) as advance:
        advance()
        advance(5)
    assert out.getvalue() == ""


def test_imports_with_progress_give_the_same_result(tmp_path: Path) -> None:
    exported = []
    for progress in (False, True):
        with open_store(tmp_path / f"s-{progress}") as store:
            project = create_project(store, "p", ROWS / "ontology_all_types_dict.json")
            images = sorted((DATA / "skimage-images" / "images").glob("*.png"))
            add_data(store, project, images, progress=progress)
            assert len(list_data_units(store, project)) == len(images)
            add_data(store, project, [{"title": "rousseau_2.jpg", "width": 1200, "height": 924}])
            report = import_encord(
                store, project, [ROWS / "label_row_native_image.json"], progress=progress
            )
            assert [r.objects for r in report.rows] == [3]
            [row] = export_encord(store, project)
            exported.append(row["object_answers"])
    assert exported[0] == exported[1]
