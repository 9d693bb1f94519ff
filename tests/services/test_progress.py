"""``services.progress``: services report their steps to the callback they are given, and the
result of the work does not depend on whether anyone watches."""

from __future__ import annotations

from pathlib import Path

from predscope.services.exports.encord import export_encord
from predscope.services.imports.encord import import_encord
from predscope.services.imports.options import ImportOptions
from predscope.services.progress import ProgressUpdate, progress_steps
from predscope.services.projects import add_data, create_project, list_data_units
from predscope.store.engine import open_store

DATA = Path(__file__).resolve().parents[2] / "data"
ROWS = DATA / "encord-label-rows"


def test_steps_report_start_and_each_advance() -> None:
    seen: list[ProgressUpdate] = []
    with progress_steps(seen.append, "importing", 3) as advance:
        advance()
        advance(2)
    assert [(u.stage, u.done, u.total) for u in seen] == [
        ("importing", 0, 3),
        ("importing", 1, 3),
        ("importing", 3, 3),
    ]


def test_no_callback_means_no_reports() -> None:
    with progress_steps(None, "quiet", 3) as advance:
        advance(5)  # nothing to report to, and nothing fails


def test_imports_report_progress_and_give_the_same_result(tmp_path: Path) -> None:
    exported = []
    for watched in (False, True):
        seen: list[ProgressUpdate] = []
        progress = seen.append if watched else None
        with open_store(tmp_path / f"s-{watched}") as store:
            project = create_project(store, "p", ROWS / "ontology_all_types_dict.json")
            images = sorted((DATA / "skimage-images" / "images").glob("*.png"))
            add_data(store, project, images, progress=progress)
            assert len(list_data_units(store, project)) == len(images)
            add_data(store, project, [{"title": "rousseau_2.jpg", "width": 1200, "height": 924}])
            report = import_encord(
                store,
                project,
                [ROWS / "label_row_native_image.json"],
                ImportOptions(branch_in_rows=True),
                progress=progress,
            )
            assert [r.objects for r in report.label_rows] == [3]
            [row] = export_encord(store, project)
            exported.append(row["object_answers"])
        if watched:
            finished = {u.stage for u in seen if u.total is not None and u.done == u.total}
            assert any(s.startswith("reading") for s in finished), finished
            assert any(s.startswith("importing") for s in finished), finished
    assert exported[0] == exported[1]
