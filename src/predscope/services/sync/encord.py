"""Bring a project over from an Encord-compatible server, and keep it in step.

The first sync makes the local project (the source's title unless ``into`` names another, the
source's project hash when it is free), its ontology, one data unit per source data unit (its
metadata and the media link the server gives) and every label row of every branch. A later sync
lists the source's rows (markers only, no labels), fetches the rows whose marker moved since the
last sync, and replaces exactly those; rows and branches the source does not hold are never
touched. Everything a sync writes is one transaction: a failure anywhere leaves the store as it
was. A row edited locally since the sync that wrote it is never overwritten: the sync refuses and
names it.

Example (the key is the text of the OpenSSH private key registered at the source):
    >>> report = sync_encord(store, project_hash, key_text)  # doctest: +SKIP
    >>> report.rows_fetched, report.branches  # doctest: +SKIP
    (1000, ['main', 'yolo-v8'])
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predscope.exceptions import SyncConflictError
from predscope.formats.encord import EncordRowSource
from predscope.services.imports.encord import write_encord_rows
from predscope.services.imports.options import ImportOptions
from predscope.services.progress import Progress, progress_steps
from predscope.services.projects import ontology_to_dict
from predscope.services.rows import paused_gc
from predscope.services.sync.media import download_media, media_count
from predscope.services.sync.source import ENCORD_DOMAIN, EncordSource, SourceRow
from predscope.store import sync as sync_repo
from predscope.store.records import DATA_TYPES, NewDataUnit, NewImage

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from predscope.store.engine import Store
    from predscope.store.records import ProjectRecord, RowRecord

KIND = "encord"
RowKey = tuple[str, str]


@dataclass
class SyncReport:
    """What a sync did (or, on a dry run, would do)."""

    project: str
    project_hash: str
    source: str  # domain and project hash
    first_sync: bool
    dry_run: bool
    branches: list[str] = field(default_factory=list)
    rows_fetched: int = 0
    rows_unchanged: int = 0
    objects: int = 0
    classifications: int = 0
    data_units_added: int = 0
    ontology_updated: bool = False
    gone_at_source: list[str] = field(default_factory=list)  # rows kept, "branch/data hash"
    skipped_units: list[str] = field(default_factory=list)  # not registered, with the reason
    media_folder: str | None = None  # where --download-media put the files
    media_downloaded: int = 0
    media_not_downloaded: list[str] = field(default_factory=list)  # links that are not URLs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Plan:
    listed: dict[RowKey, SourceRow]  # rows with labels at the source
    fetch: list[SourceRow]
    gone: list[RowKey]


def sync_encord(
    store: Store,
    project_hash: str,
    private_key: str,
    *,
    domain: str = ENCORD_DOMAIN,
    into: str | None = None,
    dry_run: bool = False,
    media_dir: Path | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Sync ``project_hash`` from ``domain`` into the store; ``private_key`` is the text of an
    OpenSSH Ed25519 private key the source accepts. ``into`` is the local project's title. With
    ``media_dir``, the media of the data units this sync adds are downloaded there."""
    source = EncordSource(private_key, project_hash, domain)
    ontology = ontology_to_dict(source.ontology())
    with progress_steps(progress, "listing the source's label rows", None) as advance:
        listed = source.list_rows()
        advance(len(listed))
    title = into or source.title
    with store.read() as conn:
        local, link = _target(conn, source, title)
        plan = _plan(conn, link, local, listed)
        known = _unit_hashes(conn, local)
    report = SyncReport(
        project=local.title if local else title,
        project_hash=local.project_hash if local else project_hash,
        source=f"{source.domain} project {project_hash}",
        first_sync=link is None,
        dry_run=dry_run,
        branches=sorted({k[0] for k in plan.listed}),
        rows_fetched=len(plan.fetch),
        rows_unchanged=len(plan.listed) - len(plan.fetch),
        ontology_updated=local is not None and local.ontology != ontology,
        gone_at_source=[f"{b}/{h}" for b, h in plan.gone],
    )
    if dry_run:
        return report
    with progress_steps(
        progress, f"fetching {len(plan.fetch)} label rows", len(plan.fetch)
    ) as step:
        documents = source.fetch(plan.fetch, step)
    units = [u for u in _new_units(listed, documents, report) if u.data_hash not in known]
    if media_dir is not None and units:
        report.media_folder = str(media_dir)
        total = media_count(units)
        with progress_steps(progress, f"downloading {total} media files", total) as step:
            units = download_media(units, media_dir, step, report.media_not_downloaded)
        report.media_downloaded = total - len(report.media_not_downloaded)
    with paused_gc(), store.begin() as conn:
        _write(conn, source, title, ontology, plan, documents, units, report)
    return report


def _target(
    conn: Connection, source: EncordSource, title: str
) -> tuple[ProjectRecord | None, sync_repo.SyncSourceRecord | None]:
    """The local project a sync writes to, and its link to the source (None, None: a new one)."""
    from predscope.store.projects import get_project_by_id, list_projects

    link = sync_repo.find_source(conn, KIND, source.domain, source.project_hash)
    if link is not None:
        project = get_project_by_id(conn, link.project_id)
        if project.title != title:
            raise SyncConflictError(
                f"{source.domain} project {source.project_hash} is synced into local project "
                f"{project.title!r}, not {title!r} - pass --into {project.title!r} (or leave it "
                "out) to sync it again"
            )
        return project, link
    same = [p for p in list_projects(conn) if p.title == title]
    if same:
        raise SyncConflictError(
            f"local project {title!r} exists and was not synced from {source.domain} project "
            f"{source.project_hash} - pass --into with a new title; a sync never writes into a "
            "project it did not make"
        )
    return None, None


def _unit_hashes(conn: Connection, project: ProjectRecord | None) -> set[str]:
    from predscope.store.data_units import unit_keys

    return set() if project is None else {k.data_hash for k in unit_keys(conn, project.id)}


def _marker(row: SourceRow) -> tuple[str, str]:
    return (row.label_hash or "", row.edited)


def _plan(
    conn: Connection,
    link: sync_repo.SyncSourceRecord | None,
    local: ProjectRecord | None,
    rows: Sequence[SourceRow],
) -> _Plan:
    listed = {r.key: r for r in rows if r.label_hash}
    if link is None or local is None:
        return _Plan(listed, list(listed.values()), [])
    from predscope.store.label_rows import list_row_metadata

    synced = sync_repo.load_synced_rows(conn, link.id)
    here: dict[RowKey, RowRecord] = {
        (r.branch_name, r.data_hash): r
        for r in list_row_metadata(conn, local.id, branch_name=None, include_all_branches=True)
        if r.label_hash is not None
    }
    fetch: list[SourceRow] = []
    conflicts: list[str] = []
    for key, row in listed.items():
        before, mine = synced.get(key), here.get(key)
        moved = before is None or (before.source_label_hash, before.source_edited) != _marker(row)
        if not moved and mine is not None:
            continue  # the source did not change it: a local edit, if any, stays
        if mine is not None and (before is None or mine.version != before.local_version):
            edited = "made locally" if before is None else "edited locally since the last sync"
            conflicts.append(f"branch {key[0]!r}, data unit {row.data_title!r} ({edited})")
            continue
        fetch.append(row)
    if conflicts:
        shown = "; ".join(conflicts[:5]) + (
            f"; and {len(conflicts) - 5} more" if conflicts[5:] else ""
        )
        raise SyncConflictError(
            f"sync into {local.title!r}: {len(conflicts)} row(s) changed at the source hold local "
            f"labels a sync would overwrite: {shown} - copy them to another branch (predscope "
            "branch copy) and remove them from this one, then sync again"
        )
    gone = sorted(k for k in synced if k not in listed)
    return _Plan(listed, fetch, gone)


def _new_units(
    rows: Sequence[SourceRow], documents: Mapping[RowKey, dict[str, Any]], report: SyncReport
) -> list[NewDataUnit]:
    """One unit per source data hash, from its listing; an image group's images come from the
    labels of one of its rows (the listing does not carry them)."""
    docs_by_unit = {h: d for (_, h), d in documents.items()}
    units: dict[str, NewDataUnit] = {}
    for row in rows:
        if row.data_hash in units:
            continue
        if row.data_type not in DATA_TYPES:
            report.skipped_units.append(f"{row.data_title}: data type {row.data_type!r}")
            continue
        images: tuple[NewImage, ...] = ()
        if row.data_type == "img_group":
            doc = docs_by_unit.get(row.data_hash)
            images = _images(doc) if doc is not None else _listed_images(row)
            if not images:
                report.skipped_units.append(
                    f"{row.data_title}: an image group whose images the source does not list"
                )
                continue
        units[row.data_hash] = NewDataUnit(
            data_title=row.data_title or row.data_hash,
            data_type=row.data_type,
            data_link=row.data_link if row.data_type != "img_group" else None,
            mime_type=row.mime_type,
            width=row.width,
            height=row.height,
            number_of_frames=row.number_of_frames if row.data_type != "img_group" else None,
            frames_per_second=row.frames_per_second,
            duration=row.duration,
            images=images,
            data_hash=row.data_hash,
        )
    return list(units.values())


def _listed_images(row: SourceRow) -> tuple[NewImage, ...]:
    """An image group without labels: its images as the listing gives them (no media links)."""
    return tuple(
        NewImage(
            title=str(i.get("title") or i["image_hash"]),
            width=int(i.get("width") or 0),
            height=int(i.get("height") or 0),
            mime_type=i.get("file_type") or None,
            image_hash=str(i["image_hash"]),
        )
        for i in row.images
    )


def _images(document: Mapping[str, Any]) -> tuple[NewImage, ...]:
    entries = sorted(
        (document.get("data_units") or {}).items(),
        key=lambda kv: int(kv[1].get("data_sequence") or 0),
    )
    return tuple(
        NewImage(
            title=str(unit.get("data_title") or image_hash),
            width=int(unit.get("width") or 0),
            height=int(unit.get("height") or 0),
            data_link=unit.get("data_link"),
            mime_type=unit.get("data_type"),
            image_hash=image_hash,
        )
        for image_hash, unit in entries
    )


def _write(
    conn: Connection,
    source: EncordSource,
    title: str,
    ontology: dict[str, Any],
    plan: _Plan,
    documents: Mapping[RowKey, dict[str, Any]],
    units: Sequence[NewDataUnit],
    report: SyncReport,
) -> None:
    from predscope.store.data_units import add_data_units
    from predscope.store.label_rows import list_row_metadata
    from predscope.store.projects import (
        create_project,
        get_project_by_id,
        lock_project,
        update_ontology,
    )

    link = sync_repo.find_source(conn, KIND, source.domain, source.project_hash)
    if link is None:
        taken = _hash_taken(conn, source.project_hash)
        project = create_project(
            conn,
            title,
            ontology,
            source.description,
            project_hash=None if taken else source.project_hash,
        )
        link = sync_repo.create_source(conn, project.id, KIND, source.domain, source.project_hash)
    else:
        lock_project(conn, link.project_id)
        project = get_project_by_id(conn, link.project_id)
        # Checked again inside the write: a local edit made while the rows were being fetched
        # is refused like one made before (``_plan`` raises), never overwritten.
        again = _plan(conn, link, project, list(plan.listed.values()))
        late = [r for r in again.fetch if r.key not in documents]
        if late:
            raise SyncConflictError(
                f"sync into {project.title!r}: {len(late)} row(s) changed here while the sync "
                "was fetching - nothing was written; run the sync again"
            )
        if project.ontology != ontology:
            _check_kept_rows(conn, project, ontology, {r.key for r in plan.fetch})
            project = update_ontology(conn, project.id, ontology)
    report.project, report.project_hash = project.title, project.project_hash
    known = _unit_hashes(conn, project)
    added = add_data_units(conn, project.id, [u for u in units if u.data_hash not in known])
    report.data_units_added = len(added)
    here = known | {u.data_hash for u in added}
    # rows of units the sync could not register (see ``skipped_units``) wait for a later sync
    fetched = [r for r in plan.fetch if r.key in documents and r.data_hash in here]
    if fetched:
        digest = _digest(documents)
        name = report.source
        sources = [
            EncordRowSource(name, i, dict(documents[r.key], branch_name=r.branch_name))
            for i, r in enumerate(fetched)
        ]
        options = ImportOptions(branch_in_rows=True, append=True, caller="cli")
        written = write_encord_rows(conn, project, sources, options, {name: digest})
        report.objects = sum(w.objects for w in written)
        report.classifications = sum(w.classifications for w in written)
        _provenance(conn, project, report, written, digest)
        by_key = {
            (r.branch_name, r.data_hash): r
            for r in list_row_metadata(
                conn,
                project.id,
                branch_name=None,
                include_all_branches=True,
                data_hashes=sorted({r.data_hash for r in fetched}),
            )
        }
        sync_repo.save_synced_rows(
            conn,
            link.id,
            [
                sync_repo.SyncedRow(
                    r.branch_name,
                    r.data_hash,
                    r.label_hash or "",
                    r.edited,
                    by_key[r.key].version,
                )  # fmt: skip
                for r in fetched
            ],
        )
    sync_repo.touch_source(conn, link.id)


def _feature_hashes(value: Any, key: str, out: set[str]) -> set[str]:
    """Every string under ``key`` anywhere in a JSON value (ontology or label row)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, str):
                out.add(v)
            else:
                _feature_hashes(v, key, out)
    elif isinstance(value, list):
        for v in value:
            _feature_hashes(v, key, out)
    return out


def _check_kept_rows(
    conn: Connection,
    project: ProjectRecord,
    ontology: Mapping[str, Any],
    replaced: set[RowKey],
) -> None:
    """The source's ontology changed: every row the sync keeps (local branches, rows not
    fetched) must still name only features the new ontology has, or the change is refused."""
    from predscope.store._util import chunks
    from predscope.store.label_rows import list_row_metadata, load_documents

    known = _feature_hashes(dict(ontology), "featureNodeHash", set())
    kept = [
        r
        for r in list_row_metadata(conn, project.id, branch_name=None, include_all_branches=True)
        if r.label_hash is not None and (r.branch_name, r.data_hash) not in replaced
    ]
    for part in chunks(kept, 500):
        documents = load_documents(conn, [str(r.label_hash) for r in part])
        for r in part:
            used = _feature_hashes(documents.get(str(r.label_hash)), "featureHash", set())
            missing = sorted(used - known)
            if missing:
                raise SyncConflictError(
                    f"sync into {project.title!r}: the source's ontology no longer has feature "
                    f"{missing[0]!r}, which branch {r.branch_name!r} uses on data unit "
                    f"{r.data_title!r} here - nothing was written; move or remove those labels "
                    "(or restore the feature at the source), then sync again"
                )


def _hash_taken(conn: Connection, project_hash: str) -> bool:
    from predscope.store.projects import list_projects

    return any(p.project_hash == project_hash for p in list_projects(conn))


def _digest(documents: Mapping[RowKey, dict[str, Any]]) -> str:
    """Of what this sync fetched, and when: a sync replaces whole rows (it never appends objects),
    so the re-import rule's "same file twice" must not refuse a row that came back unchanged."""
    import orjson

    from predscope.store.types import utcnow

    body = orjson.dumps(
        [utcnow().isoformat(), [[list(k), documents[k]] for k in sorted(documents)]],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


def _provenance(
    conn: Connection,
    project: ProjectRecord,
    report: SyncReport,
    written: Sequence[Any],
    digest: str,
) -> None:
    from predscope.store.imports import record_import

    for branch in sorted({w.branch_name for w in written}):
        mine = [w for w in written if w.branch_name == branch]
        record_import(
            conn,
            project.id,
            branch,
            "encord-sync",
            report.source,
            digest,
            params={"source": report.source, "first_sync": report.first_sync},
            report={
                "rows": len(mine),
                "objects": sum(w.objects for w in mine),
                "classifications": sum(w.classifications for w in mine),
            },
        )
