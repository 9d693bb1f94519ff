"""COCO export edge cases found in review (strict xfails mark what is still open)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from predscope.exceptions import PredscopeError
from predscope.services.exports.coco import export_coco
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.store.engine import Store
from tests.services.coco_fixtures import D2, coco_project, open_test_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(tmp_path)


def test_export_of_an_unknown_branch_is_an_error(store: Store) -> None:
    gt_file = D2 / "gt_val2017_139_285.json"
    project = coco_project(store, gt_file, ("bounding_box",))
    import_coco(store, project, gt_file, ImportOptions(branch="main", ground_truth=True))
    with pytest.raises(PredscopeError, match="main"):
        export_coco(store, project, branch_name="typo-branch", results=True)
