"""Migration 10 turns a schema-9 store's object rows into the typed columns a new run stores,
bit for bit, drops the row tables, and leaves a store the block writes of later runs work on."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import inspect

from predscope.sdk.project import Project
from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.runs import analyse
from predscope.store.engine import Store, open_store
from predscope.store.migrate import MIGRATIONS
from predscope.store.object_columns import DTYPES, open_columns
from tests.services.analysis.analysis_fixtures import bbox_project, edit_one_row, stored_objects
from tests.store.legacy_stores import legacy_store

OLD_TABLES = ("analysis_objects", "analysis_counts", "analysis_histograms")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store analysed at the head schema; never changed by the tests."""
    store = open_store(str(tmp_path_factory.mktemp("fresh") / "store"))
    analyse(store, bbox_project(store).record, "model")
    yield store
    store.close()


def _columns(store: Store) -> dict[str, tuple[str, bytes]]:
    """Every stored column of the store's one set: dtype and raw bytes."""
    with store.read() as conn:
        cols = open_columns(conn, _set_id(store))
        assert cols is not None
        return {name: (cols[name].dtype.str, cols[name].tobytes()) for name in DTYPES}


def _set_id(store: Store) -> int:
    with store.read() as conn:
        found = conn.exec_driver_sql("SELECT id FROM analysis_sets").all()
    assert len(found) == 1
    return int(found[0][0])


def test_schema9_rows_become_the_columns_of_a_new_run(fresh: Store, store_url: str) -> None:
    legacy_store(fresh, store_url, 9)
    with open_store(store_url, migrations=MIGRATIONS[:9]) as old, old.read() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM analysis_objects").scalar()
        assert n == len(stored_objects(fresh)) > 1000
    with open_store(store_url) as upgraded:
        assert upgraded.schema_version() == MIGRATIONS[-1].version
        with upgraded.read() as conn:
            assert not any(inspect(conn).has_table(t) for t in OLD_TABLES)
        got, want = _columns(upgraded), _columns(fresh)
        assert got == want  # dtype and bytes of every column: NaN and -1 where SQL had NULL
        assert np.isnan(np.frombuffer(got["i0"][1], dtype="<f8")).any()
        assert (np.frombuffer(got["p0"][1], dtype="<i4") == -1).any()
        assert stored_objects(upgraded, with_id=True) == stored_objects(fresh, with_id=True)
        # the migrated layout (one block per kind) takes an incremental run's block rewrite
        project = Project(upgraded, _project(upgraded, "coco-bbox"))
        edit_one_row(
            project, "model", project.list_label_rows_v2(branch_name="model")[3].data_title
        )
        inc = analyse(upgraded, project.record, "model")
        assert (inc.mode, inc.changed_units) == ("incremental", 1)
        inc_rows = stored_objects(upgraded, with_id=True)
        assert inc_rows != stored_objects(fresh, with_id=True)
        analyse(upgraded, project.record, "model", full=True)
        assert stored_objects(upgraded, with_id=True) == inc_rows


def test_schema9_store_without_analyses_upgrades(fresh: Store, store_url: str) -> None:
    legacy_store(fresh, store_url, 9, analyses=False)
    with open_store(store_url) as upgraded:
        assert upgraded.schema_version() == MIGRATIONS[-1].version
        with upgraded.read() as conn:
            assert not any(inspect(conn).has_table(t) for t in OLD_TABLES)
            assert conn.exec_driver_sql("SELECT count(*) FROM analysis_column_sets").scalar() == 0
        analyse(upgraded, "coco-bbox", "model")
        assert _columns(upgraded) == _columns(fresh)
        assert stored_objects(upgraded, with_id=True) == stored_objects(fresh, with_id=True)
