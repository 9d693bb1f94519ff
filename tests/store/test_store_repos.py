from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from predscope.exceptions import (
    BranchNameError,
    InvalidArgumentsError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from predscope.store.branches import is_consensus_branch, validate_branch_name
from predscope.store.data_units import add_data_units, list_data_units
from predscope.store.engine import Store
from predscope.store.imports import find_imports, record_import
from predscope.store.label_rows import (
    create_rows,
    delete_branch_rows,
    list_branches,
    list_row_metadata,
    load_documents,
    load_geometry,
    save_documents,
)
from predscope.store.projects import create_project, get_project, list_projects, update_ontology
from predscope.store.records import NewDataUnit, NewImage

ONTOLOGY = {"objects": [{"name": "face", "shape": "bounding_box"}], "classifications": []}


def _units() -> list[NewDataUnit]:
    return [
        NewDataUnit(
            "astronaut.png",
            "image",
            data_link="/x/astronaut.png",
            mime_type="image/png",
            width=512,
            height=512,
        ),
        NewDataUnit(
            "clip.mp4",
            "video",
            width=64,
            height=48,
            number_of_frames=10,
            frames_per_second=5.0,
            duration=2.0,
        ),
        NewDataUnit(
            "group", "img_group", images=[NewImage("a.png", 10, 20), NewImage("b.png", 30, 40)]
        ),
        NewDataUnit(
            "tone.wav",
            "audio",
            audio_sample_rate=8000,
            audio_codec="pcm_s16le",
            audio_bit_depth=16,
            audio_num_channels=1,
            duration=0.5,
            extra={"k": [1]},
        ),
    ]


def test_projects(store: Store) -> None:
    with store.begin() as conn:
        p = create_project(conn, "faces", ONTOLOGY, "d")
        assert p.ontology == ONTOLOGY and p.description == "d" and len(p.project_hash) == 36
        assert p.created_at.tzinfo is not None
        with pytest.raises(ResourceExistsError, match="'faces' already exists"):
            create_project(conn, "faces", {})
    with store.begin() as conn:
        create_project(conn, "other", {})
        assert get_project(conn, p.project_hash).title == "faces"
        assert get_project(conn, "faces").id == p.id
        with pytest.raises(ResourceNotFoundError, match="known projects: 'faces', 'other'"):
            get_project(conn, "nope")
        assert [x.title for x in list_projects(conn)] == ["faces", "other"]
        updated = update_ontology(conn, p.id, {"objects": [], "classifications": [{"x": 1}]})
        assert updated.ontology["classifications"] == [{"x": 1}]
        assert get_project(conn, "faces").ontology == updated.ontology
        with pytest.raises(ResourceNotFoundError):
            update_ontology(conn, 9999, {})


def test_data_units(store: Store) -> None:
    with store.begin() as conn:
        p = create_project(conn, "p", ONTOLOGY)
        got = add_data_units(conn, p.id, _units())
        assert [u.data_title for u in got] == ["astronaut.png", "clip.mp4", "group", "tone.wav"]
        image, video, group, audio = got
        assert (image.width, image.height, image.number_of_frames) == (512, 512, 1)
        assert (video.number_of_frames, video.frames_per_second) == (10, 5.0)
        assert group.number_of_frames == 2 and (group.width, group.height) == (10, 20)
        assert [(i.frame, i.title, i.width, i.height) for i in group.images] == [
            (0, "a.png", 10, 20),
            (1, "b.png", 30, 40),
        ]
        assert audio.audio_sample_rate == 8000 and audio.extra == {"k": [1]}
        with pytest.raises(ResourceExistsError, match="already in the project"):
            add_data_units(conn, p.id, [NewDataUnit("dup", "image", data_hash=image.data_hash)])
    with store.read() as conn:
        assert len(list_data_units(conn, p.id)) == 4
        assert [u.data_title for u in list_data_units(conn, p.id, titles=["group"])] == ["group"]
        only = list_data_units(conn, p.id, data_hashes=[audio.data_hash, image.data_hash])
        assert [u.data_title for u in only] == ["astronaut.png", "tone.wav"]
        assert list_data_units(conn, p.id, data_hashes=[]) == []
    with pytest.raises(InvalidArgumentsError, match="not supported"), store.begin() as conn:
        add_data_units(conn, p.id, [NewDataUnit("x", "pdf")])


def test_branch_names() -> None:
    for ok in ("main", "encord-model.b_2", "A-b.C"):
        assert validate_branch_name(ok) == ok
    for bad in ("", "has space", "slash/x", "ümlaut", "x" * 201, None):
        with pytest.raises(BranchNameError):
            validate_branch_name(bad)
    with pytest.raises(BranchNameError, match="letters, digits, '-', '_' and '.'"):
        validate_branch_name("a b")
    assert is_consensus_branch("encord-x") and not is_consensus_branch("Encord-x")


def test_branch_listing_semantics(store: Store) -> None:
    with store.begin() as conn:
        p = create_project(conn, "p", ONTOLOGY)
        a, b, c, _ = add_data_units(conn, p.id, _units())
        made = create_rows(
            conn,
            p.id,
            [
                (a.data_hash, "main"),
                (a.data_hash, "pred"),
                (b.data_hash, "pred"),
                (c.data_hash, "Pred"),
            ],
        )
        assert [(r.data_title, r.branch_name) for r in made] == [
            ("astronaut.png", "main"),
            ("astronaut.png", "pred"),
            ("clip.mp4", "pred"),
            ("group", "Pred"),
        ]
        assert all(r.label_hash and r.label_status == "NOT_LABELLED" for r in made)
        with pytest.raises(ResourceExistsError, match="already exists"):
            create_rows(conn, p.id, [(a.data_hash, "main")])
        again = create_rows(
            conn, p.id, [(a.data_hash, "main"), (b.data_hash, "main")], exist_ok=True
        )
        assert again[0].label_hash == made[0].label_hash and again[1].label_hash
        with pytest.raises(ResourceNotFoundError, match="data unit"):
            create_rows(conn, p.id, [("no-such-hash", "main")])
        with pytest.raises(BranchNameError):
            create_rows(conn, p.id, [(a.data_hash, "bad name")])
    with store.read() as conn:
        main = list_row_metadata(conn, p.id)
        assert [(r.data_title, r.branch_name, r.label_hash is not None) for r in main] == [
            ("astronaut.png", "main", True),
            ("clip.mp4", "main", True),
            ("group", "main", False),
            ("tone.wav", "main", False),
        ]
        pred = list_row_metadata(conn, p.id, branch_name="pred")
        assert [r.label_hash is not None for r in pred] == [True, True, False, False]
        assert {r.branch_name for r in pred} == {"pred"}
        fresh = list_row_metadata(conn, p.id, branch_name="encord-new")
        assert len(fresh) == 4 and all(r.label_hash is None for r in fresh)
        everything = list_row_metadata(conn, p.id, branch_name=None, include_all_branches=True)
        assert [(r.data_title, r.branch_name, r.label_hash is None) for r in everything] == [
            ("astronaut.png", "main", False),
            ("astronaut.png", "pred", False),
            ("clip.mp4", "main", False),
            ("clip.mp4", "pred", False),
            ("group", "Pred", False),
            ("tone.wav", "main", True),
        ]
        assert everything[4].unit.images[1].title == "b.png"
        with pytest.raises(InvalidArgumentsError, match="cannot be combined"):
            list_row_metadata(conn, p.id, branch_name="main", include_all_branches=True)
        with pytest.raises(BranchNameError):
            list_row_metadata(conn, p.id, branch_name="no/slash")
        # filters
        assert [r.data_title for r in list_row_metadata(conn, p.id, data_title_eq="group")] == [
            "group"
        ]
        like = list_row_metadata(conn, p.id, data_title_like="%.png")
        assert [r.data_title for r in like] == ["astronaut.png"]
        by_data = list_row_metadata(conn, p.id, branch_name="pred", data_hashes=[b.data_hash])
        assert [(r.data_title, r.label_hash) for r in by_data] == [("clip.mp4", made[2].label_hash)]
        by_label = list_row_metadata(
            conn,
            p.id,
            branch_name=None,
            include_all_branches=True,
            label_hashes=[made[3].label_hash, made[1].label_hash],
        )
        assert [r.label_hash for r in by_label] == [made[1].label_hash, made[3].label_hash]
        future = datetime.now(UTC) + timedelta(days=1)
        assert len(list_row_metadata(conn, p.id, edited_before=future)) == 2  # placeholders drop
        assert list_row_metadata(conn, p.id, edited_after=future) == []
        assert list_branches(conn, p.id) == ["main", "Pred", "pred"]
    with store.begin() as conn:
        with pytest.raises(InvalidArgumentsError, match="ground truth"):
            delete_branch_rows(conn, p.id, "main")
        assert delete_branch_rows(conn, p.id, "pred") == 2
        assert list_branches(conn, p.id) == ["main", "Pred"]


def test_documents_round_trip(store: Store) -> None:
    with store.begin() as conn:
        p = create_project(conn, "p", ONTOLOGY)
        (u,) = add_data_units(conn, p.id, _units()[:1])
        (row,) = create_rows(conn, p.id, [(u.data_hash, "main")])
        assert row.label_hash is not None
        assert load_documents(conn, [row.label_hash]) == {row.label_hash: {}}
    doc = {
        "label_hash": row.label_hash,
        "label_status": "LABELLED",
        "confidence": 0.25,
        "data_units": {u.data_hash: {"labels": {"objects": [{"x": 1.5}]}}},
        "uni": "ü/+",
    }
    time.sleep(0.01)
    with store.begin() as conn:
        save_documents(conn, [(row.label_hash, doc, 1, 0, b"its copy")])
    with store.read() as conn:
        assert load_documents(conn, [row.label_hash]) == {row.label_hash: doc}
        assert load_geometry(conn, [row.label_hash, "missing"]) == {row.label_hash: b"its copy"}
        (meta,) = list_row_metadata(conn, p.id)
        counts = (meta.label_status, meta.object_count, meta.classification_count)
        assert counts == ("LABELLED", 1, 0)
        assert meta.last_edited_at is not None and meta.created_at is not None
        assert meta.last_edited_at > meta.created_at
        with pytest.raises(ResourceNotFoundError, match="not found"):
            load_documents(conn, [row.label_hash, "missing"])
    with pytest.raises(ResourceNotFoundError, match="'missing'"), store.begin() as conn:
        save_documents(conn, [(row.label_hash, {}, 0, 0, None), ("missing", {}, 0, 0, None)])
    with store.read() as conn:  # the failed save rolled back as a whole
        assert load_documents(conn, [row.label_hash])[row.label_hash] == doc
        assert load_geometry(conn, [row.label_hash]) == {row.label_hash: b"its copy"}
    with store.begin() as conn:  # a writer without a copy clears the old one with the document
        save_documents(conn, [(row.label_hash, doc, 1, 0, None)])
    with store.read() as conn:
        assert load_geometry(conn, [row.label_hash]) == {row.label_hash: None}


def test_bulk_save_1000_rows(store: Store) -> None:
    n = 1000
    with store.begin() as conn:
        p = create_project(conn, "bulk", ONTOLOGY)
        units = add_data_units(
            conn,
            p.id,
            [NewDataUnit(f"img{i:04}.jpg", "image", width=640, height=480) for i in range(n)],
        )
        rows = create_rows(conn, p.id, [(u.data_hash, "model-a") for u in units])
    docs = {
        r.label_hash: {
            "data_units": {
                r.data_hash: {
                    "labels": {
                        "objects": [
                            {
                                "objectHash": f"{r.data_title}-{k}",
                                "confidence": k / 20,
                                "boundingBox": {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4},
                            }
                            for k in range(20)
                        ]
                    }
                }
            }
        }
        for r in rows
    }
    with store.begin() as conn:
        save_documents(conn, [(h, d, 20, 0, None) for h, d in docs.items() if h is not None])
    with store.read() as conn:
        loaded = load_documents(conn, [r.label_hash for r in rows if r.label_hash])
        assert loaded == docs
        listed = list_row_metadata(conn, p.id, branch_name="model-a")
        assert len(listed) == n and all(r.object_count == 20 for r in listed)


def test_imports_provenance(store: Store) -> None:
    with store.begin() as conn:
        p = create_project(conn, "p", ONTOLOGY)
        rec = record_import(
            conn,
            p.id,
            "pred",
            "coco",
            "preds.json",
            "ab" * 32,
            params={"score": "score"},
            report={"rows": 3},
        )
        record_import(conn, p.id, "main", "encord", "gt.json", "cd" * 32)
        with pytest.raises(BranchNameError):
            record_import(conn, p.id, "b a d", "coco", "x", "0" * 64)
    with store.read() as conn:
        found = find_imports(conn, p.id, branch_name="pred", sha256="ab" * 32)
        assert [(f.id, f.source_name, f.params, f.report) for f in found] == [
            (rec.id, "preds.json", {"score": "score"}, {"rows": 3})
        ]
        assert len(find_imports(conn, p.id)) == 2
        assert find_imports(conn, p.id, sha256="ef" * 32) == []


def test_replacing_all_row_states_touches_only_the_differing_rows(store: Store) -> None:
    """A full run's row states: unchanged rows stay, changed ones are rewritten, rows the run
    no longer saw go and new ones come; the stored states then equal the run's exactly (an
    edit time stands in where a row has no version)."""
    from predscope.store.analysis import (
        RowState,
        get_or_create_set,
        load_row_states,
        replace_row_states,
    )

    edited = datetime(2026, 5, 1, 12, 30, 15, 250000, tzinfo=UTC)
    with store.begin() as conn:
        project = create_project(conn, "states", ONTOLOGY)
        set_id = get_or_create_set(conn, project.id, "model", "main").id
        first = {
            (side, unit): RowState(f"h{unit}", None, 1) for side in (0, 1) for unit in range(5)
        }
        first[(1, 4)] = RowState("h4", edited, None)
        replace_row_states(conn, set_id, first)
    second = dict(first)
    second[(0, 2)] = RowState("h2", None, 2)  # changed
    del second[(1, 3)]  # gone
    second[(0, 9)] = RowState("h9", None, 1)  # new
    with store.begin() as conn:
        replace_row_states(conn, set_id, second)
    with store.read() as conn:
        stored = load_row_states(conn, set_id)
    assert stored == second
    assert stored[(1, 4)].edited_at is not None
