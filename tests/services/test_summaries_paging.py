"""Paged data units and label rows, and per-branch counts, from SQL: equal to the whole listing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from predscope.exceptions import InvalidArgumentsError
from predscope.services.imports.coco import import_coco
from predscope.services.imports.onboard import create_project_from_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import list_data_units
from predscope.services.summaries import branch_summaries, project_counts, rows_page, units_page
from predscope.store.engine import Store, open_store
from predscope.store.label_rows import list_row_metadata

COCO100 = Path(__file__).resolve().parents[2] / "data" / "coco-val2014-100"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _coco_project(store: Store) -> Any:
    """The 100-image COCO case: ground truth on main, the fake detections on ``fake``."""
    project = create_project_from_coco(
        store, "p", COCO100 / "instances_val2014_100.json", shape="bounding_box"
    ).project
    import_coco(
        store,
        project,
        COCO100 / "instances_val2014_fakebbox100_results.json",
        ImportOptions(branch="fake"),
    )
    return project


def test_pages_and_counts_equal_the_whole_listing(store: Store) -> None:
    project = _coco_project(store)
    units = list_data_units(store, project)
    with store.read() as conn:
        every = {
            b: list_row_metadata(conn, project.id, branch_name=b) for b in ("main", "fake", "none")
        }
        all_rows = list_row_metadata(conn, project.id, branch_name=None, include_all_branches=True)
    for offset, limit in ((0, 7), (7, 7), (95, 10), (100, 5), (3, 1)):
        page, total = units_page(store, project, offset, limit)
        assert total == 100
        assert [u.data_hash for u in page] == [u.data_hash for u in units[offset : offset + limit]]
        for branch, rows in every.items():
            got, total = rows_page(store, project, branch, offset, limit)
            assert total == len(rows) == 100
            assert got == rows[offset : offset + limit]
    # The branch without rows pages placeholders; the results list left one image empty.
    assert all(r.label_hash is None for r in every["none"])
    assert sum(r.label_hash is None for r in every["fake"]) == 1
    summaries = branch_summaries(store, project)
    want: dict[str, dict[str, int]] = {}
    for row in all_rows:
        if row.label_hash is not None:
            entry = want.setdefault(
                row.branch_name, {"rows": 0, "objects": 0, "classifications": 0}
            )
            entry["rows"] += 1
            entry["objects"] += row.object_count
            entry["classifications"] += row.classification_count
    assert [s["name"] for s in summaries] == ["main", "fake"]
    assert {
        s["name"]: {k: s[k] for k in ("rows", "objects", "classifications")} for s in summaries
    } == want
    assert want["main"]["objects"] == 839 and want["fake"]["objects"] == 734
    assert project_counts(store, project) == {"data_units": 100, "branches": ["main", "fake"]}
    with store.read() as conn, pytest.raises(InvalidArgumentsError, match="offset/limit"):
        list_row_metadata(conn, project.id, data_hashes=[units[0].data_hash], limit=3)


def test_listing_pages_walk_the_whole_verify_listing_once(store: Store) -> None:
    from predscope.services.exports.listing import listing_page, verify_listing

    project = _coco_project(store)
    for branch in (None, "fake"):
        whole = verify_listing(store, project, branch_name=branch, all_branches=branch is None)
        paged, offset, more = [], 0, True
        while more:
            page, more = listing_page(store, project, branch_name=branch, offset=offset, limit=17)
            paged.extend(page)
            offset += 17
        assert [(r.data_hash, r.branch_name) for r in paged] == [
            (r.data_hash, r.branch_name) for r in whole
        ]
        assert paged == whole
    with pytest.raises(Exception, match="nope"):
        listing_page(store, project, branch_name="nope")
