"""The lean listing an analysis reads lists what ``list_row_metadata`` lists, field for field:
placeholders for units without a row, image groups' frames, videos' frame counts, the edit
time of a row without a version, nothing of another project; on both stores."""

from __future__ import annotations

from sqlalchemy import update

from predscope.store.branch_rows import (
    BranchListing,
    list_branch_rows,
    list_branches,
    row_markers,
)
from predscope.store.data_units import add_data_units, delete_data_units
from predscope.store.engine import Store
from predscope.store.label_rows import (
    branch_summary,
    create_rows,
    list_row_metadata,
    save_documents,
)
from predscope.store.projects import create_project
from predscope.store.records import ListedRow, ListedUnit, NewDataUnit, NewImage, RowRecord
from predscope.store.schema import label_rows

BRANCHES = ("main", "model")
ONTOLOGY = {"objects": [{"name": "face", "shape": "bounding_box"}], "classifications": []}


def _units(tag: str) -> list[NewDataUnit]:
    return [
        NewDataUnit(f"{tag}-a.png", "image", width=40, height=30, extra={"k": [1]}),
        NewDataUnit(f"{tag}-clip.mp4", "video", width=64, height=48, number_of_frames=10),
        NewDataUnit(
            f"{tag}-group",
            "img_group",
            images=[NewImage("x.png", 10, 20), NewImage("y.png", 30, 40)],
        ),
        NewDataUnit(f"{tag}-tone.wav", "audio", duration=0.5),
        NewDataUnit(f"{tag}-b.png", "image", width=8, height=6),
    ]


def _expected(record: RowRecord) -> ListedRow:
    unit = record.unit
    return ListedRow(
        ListedUnit(
            unit.id,
            unit.data_hash,
            unit.data_title,
            unit.data_type,
            unit.width,
            unit.height,
            unit.number_of_frames,
            unit.images,
        ),
        record.branch_name,
        record.label_hash,
        record.object_count,
        record.classification_count,
        record.version,
        None if record.version else record.last_edited_at,
    )


def test_the_lean_listing_equals_the_full_one(store: Store) -> None:
    with store.begin() as conn:
        project = create_project(conn, "lean", ONTOLOGY)
        other = create_project(conn, "other", ONTOLOGY)
        units = add_data_units(conn, project.id, _units("p"))
        others = add_data_units(conn, other.id, _units("o"))
        pairs = [(u.data_hash, "main") for u in units[:4]] + [(units[1].data_hash, "model")]
        rows = create_rows(conn, project.id, [*pairs, (units[4].data_hash, "model")])
        create_rows(conn, other.id, [(u.data_hash, "model") for u in others])
        document = {"label_status": "LABELLED"}
        save_documents(conn, [(str(rows[0].label_hash), document, 3, 1, None)])
        save_documents(conn, [(str(rows[4].label_hash), document, 2, 0, None)])
        # a row without a version (none are written so): its edit time is its change marker
        conn.execute(
            update(label_rows)
            .where(label_rows.c.label_hash == rows[5].label_hash)
            .values(version=0)
        )
    branches = ("main", "model", "empty")
    with store.read() as conn:
        lean = list_branch_rows(conn, project.id, branches)
        full = [list_row_metadata(conn, project.id, branch_name=b) for b in branches]
        markers = row_markers(conn, project.id, "model")
    assert [len(rows) for rows in lean] == [5, 5, 5]
    assert lean == [[_expected(r) for r in records] for records in full]
    main, model, empty = lean
    assert [r.label_hash is None for r in main] == [False] * 4 + [True]
    assert [r.branch_name for r in empty] == ["empty"] * 5 and not any(r.label_hash for r in empty)
    assert [i.title for i in main[2].unit.images] == ["x.png", "y.png"]
    assert main[1].unit.number_of_frames == 10
    assert (main[0].object_count, main[0].classification_count, main[0].version) == (3, 1, 2)
    unversioned = model[4]
    assert unversioned.version == 0 and unversioned.edited_at is not None
    assert unversioned.edited_at.tzinfo is not None
    assert model[1].edited_at is None  # a versioned row's edit time is not read
    assert sorted(markers) == sorted(
        (r.unit.id, r.label_hash, r.edited_at, r.version) for r in model if r.label_hash
    )


def _listing(store: Store, project_id: int, previous: BranchListing | None) -> BranchListing:
    branches = ("main", "model")
    with store.read() as conn:
        summaries = [branch_summary(conn, project_id, b) for b in branches]
        return list_branches(conn, project_id, branches, previous, summaries)


def test_a_listing_after_another_rebuilds_what_the_store_changed(store: Store) -> None:
    """Compared with the last listing: the same rows are the same records, an edited row is
    named and re-listed, and any write of the units (one removed and re-added under its hash,
    which SQLite gives the removed one's id) lists the units again."""
    with store.begin() as conn:
        project = create_project(conn, "again", ONTOLOGY)
        units = add_data_units(conn, project.id, _units("p"))
        rows = create_rows(conn, project.id, [(u.data_hash, b) for u in units for b in BRANCHES])
    first = _listing(store, project.id, None)
    assert first.changed == {"main": None, "model": None}
    same = _listing(store, project.id, first)
    assert same.changed == {"main": set(), "model": set()}
    assert same.units is first.units and same.records["model"] is first.records["model"]
    edited = rows[3]  # unit 1 on "model"
    with store.begin() as conn:
        save_documents(conn, [(str(edited.label_hash), {"label_status": "LABELLED"}, 2, 0, None)])
    after = _listing(store, project.id, same)
    assert after.changed == {"main": set(), "model": {units[1].id}}
    with store.read() as conn:
        fresh = list_branch_rows(conn, project.id, BRANCHES)
    assert [after.records[b] for b in BRANCHES] == fresh
    assert after.records["model"][1].object_count == 2
    last = units[-1]
    with store.begin() as conn:
        delete_data_units(conn, [last.id])
        [again] = add_data_units(
            conn,
            project.id,
            [NewDataUnit("p-b2.png", "image", width=80, height=60, data_hash=last.data_hash)],
        )
    if store.url.startswith("sqlite"):
        assert again.id == last.id  # the same id and hash: only the creation time tells
    moved = _listing(store, project.id, after)
    assert moved.changed == {"main": None, "model": None}
    assert (moved.units[-1].data_title, moved.units[-1].width) == ("p-b2.png", 80)
    with store.read() as conn:
        assert [moved.records[b] for b in BRANCHES] == list_branch_rows(conn, project.id, BRANCHES)
