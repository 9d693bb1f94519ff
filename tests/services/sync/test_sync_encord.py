"""``sync_encord`` against a second, real ``predscope serve`` over another store, through the real
``encord`` SDK and the real protocol: the first sync copies every branch row for row, a later one
moves only what changed at the source, and nothing local is overwritten or lost."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from predscope.exceptions import SyncConflictError, SyncSourceError
from predscope.objects.label_row import LabelRowV2
from predscope.sdk.client import Client
from predscope.services.demo import IMAGE_LIST_FILE, PREDICTION_BRANCHES
from predscope.services.encord_keys import add_key
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import get_project, list_projects
from predscope.services.sync.encord import sync_encord
from predscope.store.engine import open_store
from predscope.store.label_rows import list_row_metadata, load_documents
from tests.server.encord.keys import KeyPair, make_key_pair
from tests.server.live import DATA, build_project, live_server
from tests.services.analysis.geometry_checks import assert_copies_current

pytestmark = pytest.mark.slow

BRANCHES = [b for b, _ in PREDICTION_BRANCHES[:2]]
VOLATILE = ("label_hash", "created_at", "last_edited_at")  # the row's own identity and clock


def _encord_only(doc: dict[str, Any]) -> dict[str, Any]:
    """The row as Encord's format holds it: the ``coco`` extras predscope's COCO importer keeps
    on ground-truth objects (original area, iscrowd, bbox) are not part of the protocol, and the
    media links are the source's signed links (checked on the data units)."""
    for unit in doc.get("data_units", {}).values():
        unit.pop("data_link", None)
        for obj in (unit.get("labels") or {}).get("objects", []):
            obj.pop("coco", None)
    return doc


def signed_link_of(source: Source, data_hash: str, frame: int | None = None) -> str:
    """The beginning of the link the source gives for a unit's own file."""
    query = "" if frame is None else f"frame={frame}&"
    return f"{source.url}/v2/public/media/{source.project_hash}/{data_hash}?{query}expires="


@dataclass
class Source:
    url: str
    store: str
    project_hash: str
    key: KeyPair

    @property
    def key_text(self) -> str:
        return self.key.private_path.read_text(encoding="ascii")


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Source]:
    """The scikit-image project (ground truth on main, an unlabelled image group, a unit without
    pixels) with two real detectors' branches, served with a key granted the project."""
    store = str(tmp_path / "source")
    project_hash = build_project(store)
    with open_store(store) as opened:
        project = get_project(opened, project_hash)
        for branch, name in PREDICTION_BRANCHES[:2]:
            options = ImportOptions(branch=branch)
            import_coco(opened, project, DATA / name, options, gt_path=DATA / IMAGE_LIST_FILE)
        key = make_key_pair(tmp_path / "keys")
        add_key(opened, key.public_line, user_email="sync@example.com", projects=[project_hash])
    with live_server(store, tmp_path / "server-tmp") as server:
        yield Source(server.url, store, project_hash, key)


def content(location: str, title: str = "skimage") -> dict[tuple[str, str], Any]:
    """Every label row of the project, by (branch, data hash), without the row's own hash and
    timestamps: the labels, their hashes and times, statuses and data-unit metadata."""
    with open_store(location) as store, store.read() as conn:
        project = next(p for p in list_projects(store) if p.title == title)
        rows = list_row_metadata(conn, project.id, branch_name=None, include_all_branches=True)
        held = [r for r in rows if r.label_hash]
        documents = load_documents(conn, [r.label_hash for r in held if r.label_hash])
    out = {}
    for r in held:
        assert r.label_hash is not None
        doc = {k: v for k, v in documents[r.label_hash].items() if k not in VOLATILE}
        out[(r.branch_name, r.data_hash)] = _encord_only(
            orjson.loads(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))
        )
    return out


def versions(location: str) -> dict[tuple[str, str], int]:
    with open_store(location) as store, store.read() as conn:
        project = list_projects(store)[0]
        rows = list_row_metadata(conn, project.id, branch_name=None, include_all_branches=True)
        return {(r.branch_name, r.data_hash): r.version for r in rows if r.label_hash}


def _first_row(location: str, project_hash: str, branch: str) -> tuple[Client, LabelRowV2]:
    client = Client(location)
    project = client.get_project(project_hash)
    row = next(r for r in project.list_label_rows_v2(branch_name=branch) if r.label_hash)
    row.initialise_labels()
    assert row.get_object_instances(), "the test edits a row that holds objects"
    return client, row


def _drop_first_object(location: str, project_hash: str, branch: str) -> str:
    """Edit one row as an SDK user would; returns its data hash."""
    client, row = _first_row(location, project_hash, branch)
    with client:
        row.remove_object(row.get_object_instances()[0])
        row.save()
        return row.data_hash


def test_first_sync_copies_every_branch_row_for_row(source: Source, store_url: str) -> None:
    target = store_url  # SQLite and PostgreSQL
    with open_store(target) as store:
        report = sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    assert report.first_sync and report.branches == ["main", *sorted(BRANCHES)]
    expected = content(source.store)
    assert content(target) == expected
    assert report.rows_fetched == len(expected) and report.rows_unchanged == 0
    with open_store(target) as store:
        usable, documents = assert_copies_current(store)  # the sync wrote each row's copy
    assert documents == len(expected) and usable > 0
    assert report.objects == sum(
        len(u["labels"].get("objects", []))
        for d in expected.values()
        for u in d["data_units"].values()
    )
    with open_store(source.store) as a, open_store(target) as b:
        [mine] = list_projects(b)
        theirs = get_project(a, source.project_hash)
        assert (mine.title, mine.project_hash, mine.ontology) == (
            theirs.title, theirs.project_hash, theirs.ontology,
        )  # fmt: skip
        units = {
            u.data_hash: u for u in Client(target).get_project(mine.project_hash).list_data_units()
        }
        for unit in Client(source.store).get_project(theirs.project_hash).list_data_units():
            got = units.pop(unit.data_hash)
            assert (got.data_title, got.data_type, got.width, got.height) == (
                unit.data_title, unit.data_type, unit.width, unit.height,
            )  # fmt: skip
            if unit.data_link is None:
                assert got.data_link is None
            elif unit.data_type != "img_group":  # the source's file, as a signed link
                assert got.data_link and got.data_link.startswith(
                    signed_link_of(source, unit.data_hash)
                )
                assert httpx.get(got.data_link).content == Path(unit.data_link).read_bytes()
            assert [(i.image_hash, i.title, i.width, i.height) for i in got.images] == [
                (i.image_hash, i.title, i.width, i.height) for i in unit.images
            ]
        assert units == {}  # nothing more than the source holds


def test_a_second_sync_moves_only_the_changed_row(source: Source, store_url: str) -> None:
    target = store_url  # SQLite and PostgreSQL
    with open_store(target) as store:
        sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    before = versions(target)
    changed = _drop_first_object(source.store, source.project_hash, BRANCHES[0])
    with open_store(target) as store:
        report = sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    assert (report.first_sync, report.rows_fetched) == (False, 1)
    assert report.rows_unchanged == len(before) - 1
    assert content(target) == content(source.store)
    after = versions(target)
    moved = {k for k in after if after[k] != before[k]}
    assert moved == {(BRANCHES[0], changed)}
    with open_store(target) as store:  # nothing changed since: nothing fetched, nothing written
        again = sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    assert again.rows_fetched == 0 and versions(target) == after


def test_a_branch_that_exists_only_locally_survives(source: Source, tmp_path: Path) -> None:
    target = str(tmp_path / "target")
    with open_store(target) as store:
        report = sync_encord(store, source.project_hash, source.key_text, domain=source.url)
        project = get_project(store, report.project_hash)
        import_coco(
            store,
            project,
            DATA / PREDICTION_BRANCHES[2][1],
            ImportOptions(branch="mine"),
            gt_path=DATA / IMAGE_LIST_FILE,
        )
    local = {k: v for k, v in content(target).items() if k[0] == "mine"}
    assert local
    _drop_first_object(source.store, source.project_hash, "main")
    with open_store(target) as store:
        sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    after = content(target)
    assert {k: v for k, v in after.items() if k[0] == "mine"} == local
    assert {k: v for k, v in after.items() if k[0] != "mine"} == content(source.store)


def test_a_row_edited_on_both_sides_is_refused_and_nothing_written(
    source: Source, store_url: str
) -> None:
    target = store_url
    with open_store(target) as store:
        sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    branch = BRANCHES[1]
    changed_here = _drop_first_object(target, source.project_hash, branch)
    changed_there = _drop_first_object(source.store, source.project_hash, branch)
    assert changed_here == changed_there
    _drop_first_object(source.store, source.project_hash, "main")  # a change with no conflict
    before, stored = versions(target), content(target)
    with open_store(target) as store, pytest.raises(SyncConflictError) as caught:
        sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    message = str(caught.value)
    assert repr(branch) in message and "edited locally since the last sync" in message
    assert versions(target) == before and content(target) == stored


def test_local_edits_the_source_did_not_touch_are_kept(source: Source, tmp_path: Path) -> None:
    target = str(tmp_path / "target")
    with open_store(target) as store:
        sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    _drop_first_object(target, source.project_hash, BRANCHES[0])
    mine = content(target)
    with open_store(target) as store:
        report = sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    assert report.rows_fetched == 0 and content(target) == mine


def test_an_unknown_key_is_refused_and_nothing_is_written(source: Source, tmp_path: Path) -> None:
    stranger = make_key_pair(tmp_path / "stranger")
    target = str(tmp_path / "target")
    with open_store(target) as store:
        with pytest.raises(SyncSourceError) as caught:
            sync_encord(
                store,
                source.project_hash,
                stranger.private_path.read_text(encoding="ascii"),
                domain=source.url,
            )
        assert source.url in str(caught.value)
        with pytest.raises(SyncSourceError):  # a project the key was not granted
            sync_encord(
                store, "00000000-0000-0000-0000-000000000000", source.key_text, domain=source.url
            )
        assert list_projects(store) == []


def test_a_project_not_made_by_the_sync_is_never_written(source: Source, tmp_path: Path) -> None:
    target = str(tmp_path / "target")
    build_project(target)  # a local project with the source's title
    before = content(target)
    with open_store(target) as store, pytest.raises(SyncConflictError) as caught:
        sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    assert "--into" in str(caught.value)
    assert content(target) == before
    with open_store(target) as store:
        report = sync_encord(
            store, source.project_hash, source.key_text, domain=source.url, into="copy"
        )
    assert report.project == "copy"
    assert content(target, "copy") == content(source.store)
    assert content(target) == before  # the local project beside it is as it was


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "predscope", *args], capture_output=True, text=True, timeout=300
    )


def test_the_command_syncs_and_says_what_it_did(source: Source, tmp_path: Path) -> None:
    target = str(tmp_path / "target")
    base = ["sync", "encord", source.project_hash, "--domain", source.url, "--store", target]
    dry = _cli(*base, "--key", str(source.key.private_path), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    with open_store(target) as store:
        assert list_projects(store) == []  # a dry run writes nothing
    done = _cli(*base, "--key", str(source.key.private_path))
    assert done.returncode == 0, done.stderr
    assert f"fetched {planned['rows_fetched']} label rows" in done.stdout
    assert content(target) == content(source.store)
    public = _cli(*base, "--key", str(source.key.public_path))
    assert public.returncode == 1 and str(source.key.public_path) in public.stderr
    assert "not a private key" in public.stderr
    missing = _cli(*base, "--key", str(tmp_path / "nope"), "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["error"]["code"] == "invalid_arguments"


def test_every_shape_and_classification_syncs_exactly(tmp_path: Path) -> None:
    """Boxes, rotated boxes, polygons, polylines, points, skeletons, bitmasks, nested answers and
    classifications on an image, and a tracked box with frame-range classifications on a video."""
    from tests.server.encord.test_sdk_rows import shapes_project

    folder = tmp_path / "source"
    with Client(folder) as client:
        project_hash = shapes_project(client).project_hash
    key = make_key_pair(tmp_path / "keys")
    with open_store(str(folder)) as store:
        add_key(store, key.public_line, user_email="s@example.com", projects=[project_hash])
    target = str(tmp_path / "target")
    with live_server(str(folder), tmp_path / "server-tmp") as server, open_store(target) as store:
        text = key.private_path.read_text(encoding="ascii")
        report = sync_encord(store, project_hash, text, domain=server.url)
    assert report.rows_fetched == 2 and report.skipped_units == []
    expected, got = content(str(folder), "audit-shapes"), content(target, "audit-shapes")
    # The video was registered by size alone; the server names its MIME type for the SDK, which
    # reads the key (wire.complete_units), so the copy holds it: nothing else.
    for key, doc in got.items():
        for unit_hash, unit in doc["data_units"].items():
            given = expected[key]["data_units"][unit_hash]
            added = {k: unit.pop(k) for k in list(unit) if k not in given}
            assert added in ({}, {"data_type": "video/mp4"})
    assert got == expected
    with open_store(target) as store:
        assert assert_copies_current(store)[1] == 2
    [image] = [d for d in expected.values() if d["data_title"] == "chelsea.png"]
    shapes = {o["shape"] for u in image["data_units"].values() for o in u["labels"]["objects"]}
    assert {"bounding_box", "rotatable_bounding_box", "polygon", "polyline", "point", "skeleton",
            "bitmask"} <= shapes  # fmt: skip


def _set_ontology(location: str, project_hash: str, change: Any) -> dict[str, Any]:
    from predscope.store.projects import update_ontology

    with open_store(location) as store, store.begin() as conn:
        project = get_project(store, project_hash)
        ontology = change(json.loads(json.dumps(project.ontology)))
        update_ontology(conn, project.id, ontology)
        return dict(ontology)


def test_ontology_changes_come_over_unless_kept_rows_use_what_went(
    source: Source, tmp_path: Path
) -> None:
    from predscope.objects.coordinates import BoundingBoxCoordinates

    target = str(tmp_path / "target")
    cup = {"id": "9", "name": "cup", "color": "#000000", "shape": "bounding_box",
           "featureNodeHash": "cup00001"}  # fmt: skip
    with open_store(target) as store:
        sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    grown = _set_ontology(
        source.store, source.project_hash, lambda o: {**o, "objects": [*o["objects"], cup]}
    )
    with open_store(target) as store:  # a class added at the source comes over
        report = sync_encord(store, source.project_hash, source.key_text, domain=source.url)
        assert report.ontology_updated and report.rows_fetched == 0
        assert get_project(store, source.project_hash).ontology == grown
    with Client(target) as client:  # a local-only branch labels a cup
        project = client.get_project(source.project_hash)
        row = project.list_label_rows_v2(branch_name="mine")[0]
        row.initialise_labels()
        box = project.ontology_structure.get_child_by_title("cup").create_instance()
        box.set_for_frames(BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=0.1,
                                                  top_left_y=0.1), frames=0)  # fmt: skip
        row.add_object_instance(box)
        row.save()
    shrunk = _set_ontology(
        source.store,
        source.project_hash,
        lambda o: {**o, "objects": [x for x in o["objects"] if x["name"] != "cup"]},
    )
    _drop_first_object(source.store, source.project_hash, "main")  # a change that would come over
    before = content(target)
    with open_store(target) as store, pytest.raises(SyncConflictError) as caught:
        sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    assert "'cup00001'" in str(caught.value) and "'mine'" in str(caught.value)
    assert content(target) == before
    with open_store(target) as store:
        assert get_project(store, source.project_hash).ontology == grown != shrunk
