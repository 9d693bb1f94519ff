"""Migration 12 splits a set's one archive of match records into the image blocks a run writes,
and the upgraded store's next run starts from them."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import inspect

from predscope.sdk.project import Project
from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.records import STATE_BLOCK_IMAGES, Records
from predscope.services.analysis.runs import analyse
from predscope.store import analysis as repo
from predscope.store.engine import Store, open_store
from predscope.store.migrate import MIGRATIONS
from predscope.store.migrations import m0012_state_blocks
from tests.services.analysis.analysis_fixtures import bbox_project, edit_one_row, stored_objects
from tests.store.legacy_stores import legacy_store


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(str(tmp_path_factory.mktemp("fresh") / "store"))
    analyse(store, bbox_project(store).record, "model")
    yield store
    store.close()


def _records(store: Store) -> Records:
    with store.read() as conn:
        (set_id,) = conn.exec_driver_sql("SELECT id FROM analysis_sets").one()
        blocks = repo.load_state(conn, int(set_id))
    assert blocks is not None
    return Records.from_blocks(blocks)


def _assert_same(a: Records, b: Records) -> None:
    for name, values in vars(a).items():
        np.testing.assert_array_equal(values, getattr(b, name), err_msg=name)


def test_schema11_archive_becomes_blocks(fresh: Store, store_url: str) -> None:
    legacy_store(fresh, store_url, 11)
    with open_store(store_url, migrations=MIGRATIONS[:11]) as old, old.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM analysis_states").scalar() == 1
    with open_store(store_url) as upgraded:
        assert upgraded.schema_version() == MIGRATIONS[-1].version
        with upgraded.read() as conn:
            assert not inspect(conn).has_table("analysis_states")
        _assert_same(_records(upgraded), _records(fresh))
        # the next run starts from the blocks (another process: nothing carried in memory)
        project = Project(upgraded, _project(upgraded, "coco-bbox"))
        title = project.list_label_rows_v2(branch_name="model")[2].data_title
        edit_one_row(project, "model", title)
        inc = analyse(upgraded, project.record, "model")
        assert (inc.mode, inc.changed_units) == ("incremental", 1)
        inc_rows, inc_records = stored_objects(upgraded), _records(upgraded)
        analyse(upgraded, project.record, "model", full=True)
        assert stored_objects(upgraded) == inc_rows
        _assert_same(_records(upgraded), inc_records)


def test_the_frozen_split_equals_the_live_one() -> None:
    """m0012 keeps its own copy of the block rule; both cut 600 images at the same places."""
    rng = np.random.default_rng(7)
    num_images = 2 * STATE_BLOCK_IMAGES + 88
    d_image = np.sort(rng.integers(0, num_images, 5000)).astype(np.int32)
    g_image = np.sort(rng.integers(0, num_images, 900)).astype(np.int32)
    nd, ng = d_image.size, g_image.size
    records = Records(
        d_image=d_image,
        d_cat=rng.integers(0, 5, nd).astype(np.int32),
        d_score=rng.random(nd),
        d_rank=rng.integers(-1, 100, nd).astype(np.int32),
        d_codes=rng.integers(0, 4, (nd, 4, 10)).astype(np.int8),
        d_conf=rng.integers(-1, 6, nd).astype(np.int32),
        g_image=g_image,
        g_cat=rng.integers(0, 5, ng).astype(np.int32),
        g_crowd=rng.random(ng) < 0.1,
        g_ignored=rng.random((ng, 4)) < 0.2,
        g_conf_missed=rng.random(ng) < 0.3,
        d_error=rng.integers(0, 7, nd).astype(np.int8),
        g_error=rng.integers(0, 2, ng).astype(np.int8),
    )
    live = records.to_blocks(num_images)
    frozen = m0012_state_blocks._blocks(records.to_bytes().tobytes())
    assert len(frozen) == len(live) == 3
    for got, want in zip(frozen, live.values(), strict=True):
        _assert_same(Records.from_bytes(got), Records.from_bytes(want))
    _assert_same(Records.from_blocks(frozen), records)
    assert Records.from_blocks([live[1]]).d_image.min() >= STATE_BLOCK_IMAGES
