"""Label rows backed by the store: listing with Encord's branch rules, bundled loads and saves.

Every importer and the SDK write through ``write_rows``, so one path validates rows and one path
decides what a transaction is: a bundle (or an import) is one transaction, and a bad row anywhere in
it means nothing is written. Documents are encoded before the transaction opens, so SQLite's write
lock is held only for the statements themselves.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from predscope.exceptions import (
    CoordinatesError,
    FrameError,
    InvalidArgumentsError,
    LabelRowConflictError,
    LabelRowError,
    OntologyError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from predscope.formats.row_geometry import encode_document
from predscope.objects.label_row import LabelRowV2
from predscope.objects.label_row_metadata import ImageInfo, LabelRowMetadata, parse_time
from predscope.objects.ontology_structure import OntologyStructure
from predscope.store import label_rows as row_repo
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord, RowRecord

_SHADOW_STATES = {None, "ALL_DATA", "NOT_SHADOW_DATA"}
# Rows encoded and written per statement when saving: bounds memory, not transactions.
WRITE_CHUNK = 1000

# A pause that other pauses keep extending is bounded: see ``paused_gc``.
MAX_GC_PAUSE_SECONDS = 30.0
_GC_PAUSING = os.environ.get("PREDSCOPE_GC_PAUSE", "1") != "0"

_gc_lock = threading.Lock()
_gc_state: dict[str, Any] = {"depth": 0, "was_enabled": False, "since": 0.0}


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector around a bulk load or save (the one pause there is).

    Encoding or decoding 100,000 annotations allocates millions of containers, which triggers
    full collections that each walk every live object (measured: a third of a bulk save). These
    paths create no reference cycles, so pausing costs no memory; reference counting still frees
    everything. The pause is process-wide: nested and concurrent uses (threads) are counted, and
    the collector is re-enabled only when the last of them ends, and only if it was enabled when
    the first began. In a long-running server overlapping jobs could keep it off indefinitely
    while other code makes cycles, so a pause that ends after the collector has been off for more
    than ``MAX_GC_PAUSE_SECONDS`` runs one full collection; ``PREDSCOPE_GC_PAUSE=0`` turns pausing
    off altogether (docs/design.md records this decision).
    """
    if not _GC_PAUSING:
        yield
        return
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            _gc_state["since"] = time.monotonic()
            gc.disable()
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        collect = False
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0:
                if _gc_state["was_enabled"]:
                    gc.enable()
            elif _gc_state["was_enabled"]:
                now = time.monotonic()
                if now - _gc_state["since"] > MAX_GC_PAUSE_SECONDS:
                    _gc_state["since"] = now
                    collect = True
        if collect:
            gc.collect()  # outside the lock: other pauses may begin or end meanwhile


def metadata_from_record(record: RowRecord) -> LabelRowMetadata:
    unit = record.unit
    return LabelRowMetadata(
        label_hash=record.label_hash,
        branch_name=record.branch_name,
        data_hash=unit.data_hash,
        data_title=unit.data_title,
        data_type=unit.data_type,
        data_link=unit.data_link,
        mime_type=unit.mime_type,
        width=unit.width,
        height=unit.height,
        number_of_frames=unit.number_of_frames,
        frames_per_second=unit.frames_per_second,
        duration=unit.duration,
        audio_sample_rate=unit.audio_sample_rate,
        audio_codec=unit.audio_codec,
        audio_bit_depth=unit.audio_bit_depth,
        audio_num_channels=unit.audio_num_channels,
        label_status=record.label_status,
        created_at=record.created_at,
        last_edited_at=record.last_edited_at,
        images=tuple(
            ImageInfo(
                image_hash=image.image_hash,
                title=image.title,
                width=image.width,
                height=image.height,
                data_link=image.data_link,
                mime_type=image.mime_type,
            )
            for image in unit.images
        ),
    )


def _as_datetime(value: str | datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise InvalidArgumentsError(
            f"list label rows: {name}={value!r} is not a date - pass a datetime or an ISO-8601 "
            "string such as '2025-01-31 12:00:00'"
        )
    return parsed


def list_row_records(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str | None = None,
    include_all_label_branches: bool = False,
    data_hashes: Sequence[str] | None = None,
    label_hashes: Sequence[str] | None = None,
    data_title_eq: str | None = None,
    data_title_like: str | None = None,
    edited_before: str | datetime | None = None,
    edited_after: str | datetime | None = None,
    label_statuses: Sequence[str] | None = None,
    shadow_data_state: str | None = None,
) -> list[RowRecord]:
    """The store's records for a listing; see ``list_label_rows`` for the rules."""
    if include_all_label_branches and branch_name is not None:
        raise InvalidArgumentsError(
            f"list_label_rows_v2: branch_name={branch_name!r} cannot be combined with "
            "include_all_label_branches=True - pass one or the other"
        )
    if branch_name is not None:
        validate_branch_name(branch_name)
    state = getattr(shadow_data_state, "value", shadow_data_state)
    if state == "SHADOW_DATA":
        return []  # predscope has no shadow data
    if state not in _SHADOW_STATES:
        raise InvalidArgumentsError(
            f"list_label_rows_v2: shadow_data_state={shadow_data_state!r} - use ALL_DATA, "
            "NOT_SHADOW_DATA or SHADOW_DATA"
        )
    with store.read() as conn:
        records = row_repo.list_row_metadata(
            conn,
            project.id,
            branch_name=None if include_all_label_branches else (branch_name or MAIN_BRANCH),
            include_all_branches=include_all_label_branches,
            data_hashes=None if data_hashes is None else [str(h) for h in data_hashes],
            label_hashes=None if label_hashes is None else [str(h) for h in label_hashes],
            data_title_eq=data_title_eq,
            data_title_like=data_title_like,
            edited_before=_as_datetime(edited_before, "edited_before"),
            edited_after=_as_datetime(edited_after, "edited_after"),
        )
    if label_statuses is not None:
        wanted = {str(getattr(s, "value", s)) for s in label_statuses}
        records = [r for r in records if r.label_status in wanted]
    return records


def list_label_rows(
    store: Store,
    project: ProjectRecord,
    ontology: OntologyStructure,
    *,
    backend: StoreRowBackend | None = None,
    **filters: Any,
) -> list[LabelRowV2]:
    """One row per data unit on ``branch_name`` (default ``main``); placeholders have no label hash.

    ``include_all_label_branches=True`` gives one row per existing (unit, branch) instead, plus a
    ``main`` placeholder for units with no row at all; it cannot be combined with ``branch_name``.
    """
    with paused_gc():
        records = list_row_records(store, project, **filters)
        backend = backend or StoreRowBackend(store, project, ontology)
        return [LabelRowV2(metadata_from_record(r), ontology, backend) for r in records]


def row_documents(
    store: Store, project: ProjectRecord, branch_name: str, data_hashes: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The stored documents of ``data_hashes``' rows on ``branch_name``, by data hash (units
    without a row left out), read as stored: a page drawing a few rows needs their objects,
    not ``LabelRowV2``s (building those was most of an explorer page's time)."""
    validate_branch_name(branch_name)
    with store.read() as conn:
        records = row_repo.list_row_metadata(
            conn, project.id, branch_name=branch_name, data_hashes=list(data_hashes)
        )
        present = [r for r in records if r.label_hash is not None]
        documents = row_repo.load_documents(conn, [str(r.label_hash) for r in present])
    return {r.data_hash: documents[str(r.label_hash)] for r in present}


@dataclass(frozen=True, slots=True)
class PreparedRow:
    """A row encoded and checked, ready to be written; ``read_version`` None: not checked.

    ``geometry``: the document's evaluated-geometry copy (``formats.row_geometry``), written
    with it; None stores none (analysis then parses the document)."""

    label_hash: str
    document: dict[str, Any]
    object_count: int
    classification_count: int
    read_version: int | None = None
    geometry: bytes | None = None


def prepare_rows(
    rows: Sequence[LabelRowV2], index: OntologyIndex | None = None
) -> list[PreparedRow]:
    """Encode and validate every row; raises on the first bad one, before any write."""
    out: list[PreparedRow] = []
    seen: set[str] = set()
    for row in rows:
        label_hash = row.label_hash
        if label_hash is None:
            raise LabelRowError(
                f"row {row.data_title!r} (branch {row.branch_name!r}): it has no label hash yet - "
                "call initialise_labels() first, which creates the row on its branch"
            )
        if label_hash in seen:
            continue  # the same row saved twice in one bundle: its last state wins either way
        seen.add(label_hash)
        document = row.to_encord_dict()
        ontology = index if index is not None else OntologyIndex(row.ontology_structure)
        objects, classifications = check_document(document, row.metadata, ontology)
        geometry = encode_document(document, row.metadata.data_type)
        out.append(
            PreparedRow(label_hash, document, objects, classifications, row.version, geometry)
        )
    return out


def write_prepared(conn: Connection, prepared: Sequence[PreparedRow]) -> None:
    """Write prepared rows; a row read at a version that is no longer stored is refused."""
    row_repo.save_documents(
        conn,
        [
            (p.label_hash, p.document, p.object_count, p.classification_count, p.geometry)
            for p in prepared
        ],
        expected_versions={
            p.label_hash: p.read_version for p in prepared if p.read_version is not None
        },
    )


def write_rows(conn: Connection, project: ProjectRecord, rows: Sequence[LabelRowV2]) -> None:
    """Validate and save ``rows`` inside the caller's transaction (importers use this)."""
    ontology = OntologyStructure.from_dict(project.ontology) if rows else None
    index = OntologyIndex(ontology) if ontology is not None else None
    write_prepared(conn, prepare_rows(rows, index))


# -- validation before writing ---------------------------------------------------------------


class OntologyIndex:
    """Feature hash -> shape for objects, and the classification hashes, for O(1) checks."""

    __slots__ = ("objects", "classifications")

    def __init__(self, ontology: OntologyStructure) -> None:
        self.objects: dict[str, str] = {
            o.feature_node_hash: str(getattr(o.shape, "value", o.shape)) for o in ontology.objects
        }
        self.classifications: frozenset[str] = frozenset(
            c.feature_node_hash for c in ontology.classifications
        )


def _frame_limit(md: LabelRowMetadata) -> int | None:
    if md.data_type == "image":
        return 1
    if md.data_type == "img_group":
        return len(md.images) or md.number_of_frames
    if md.data_type == "video":
        return md.number_of_frames or None
    return None


def _frames_of(md: LabelRowMetadata, unit: dict[str, Any]) -> list[tuple[int, Any]]:
    labels = unit.get("labels") or {}
    if md.data_type == "image":
        return [(0, labels)]
    if md.data_type == "img_group":
        return [(int(unit.get("data_sequence", 0)), labels)]
    if md.data_type == "video":
        return [(int(key), value) for key, value in labels.items()]
    return []


def check_document(
    doc: dict[str, Any], md: LabelRowMetadata, index: OntologyIndex
) -> tuple[int, int]:
    """Refuse a row the store must not hold; returns (object count, classification count).

    Checks what a row built outside the objects layer (an importer, a decoded file) could get
    wrong: feature hashes unknown to the ontology or of the wrong kind, frames outside the data
    unit, and bitmasks whose size is not the frame's.
    """
    where = f"row {md.data_title!r} (branch {md.branch_name!r}, data_hash {md.data_hash})"
    limit = _frame_limit(md)
    shapes = index.objects
    for unit in (doc.get("data_units") or {}).values():
        for frame, labels in _frames_of(md, unit):
            if limit is not None and frame >= limit:
                raise FrameError(
                    f"{where}: labels on frame {frame}, but the {md.data_type} has {limit} "
                    f"frame(s) (0..{limit - 1}) - place labels on frames inside the data unit"
                )
            for entry in labels.get("objects") or ():
                shape = shapes.get(entry.get("featureHash"))
                if shape is None or shape != entry.get("shape", shape):
                    _bad_object(where, frame, entry, shape)
                if shape == "bitmask":
                    _check_bitmask(where, frame, entry, unit, md)
            for entry in labels.get("classifications") or ():
                if entry.get("featureHash") not in index.classifications:
                    raise OntologyError(
                        f"{where} frame {frame}: classification {entry.get('classificationHash')!r}"
                        f" has featureHash {entry.get('featureHash')!r}, which is no "
                        "classification of the project's ontology - use the project's ontology"
                    )
    # Every object has an object_answers entry; range-based ones (audio, text) carry geometry there.
    answers = doc.get("object_answers") or {}
    for entry in answers.values():
        if "featureHash" in entry and shapes.get(entry["featureHash"]) is None:
            _bad_object(where, None, entry, None)
    classifications = doc.get("classification_answers") or {}
    for entry in classifications.values():
        if entry.get("featureHash") not in index.classifications:
            raise OntologyError(
                f"{where}: classification {entry.get('classificationHash')!r} has featureHash "
                f"{entry.get('featureHash')!r}, which is no classification of the project's "
                "ontology - use the project's ontology"
            )
    return len(answers), len(classifications)


def _bad_object(where: str, frame: int | None, entry: dict[str, Any], shape: str | None) -> None:
    at = f"{where} frame {frame}" if frame is not None else where
    fh = entry.get("featureHash")
    if shape is None:
        problem = f"featureHash {fh!r} is no object of the project's ontology"
    else:
        problem = f"shape {entry.get('shape')!r} does not match the ontology object's {shape!r}"
    raise OntologyError(
        f"{at}: object {entry.get('objectHash')!r}: {problem} - create instances from "
        "project.ontology_structure"
    )


def _check_bitmask(
    where: str, frame: int, entry: dict[str, Any], unit: dict[str, Any], md: LabelRowMetadata
) -> None:
    mask = entry.get("bitmask") or {}
    width = unit.get("width", md.width)
    height = unit.get("height", md.height)
    if width is None or height is None:
        return
    if (mask.get("height"), mask.get("width")) != (height, width):
        raise CoordinatesError(
            f"{where} frame {frame}: bitmask of object {entry.get('objectHash')!r} is "
            f"{mask.get('height')}x{mask.get('width')} (h x w) but the frame is {height}x{width}"
            " - encode the mask at the full frame size"
        )


class StoreRowBackend:
    """``LabelRowBackend`` over a store: one transaction per call, a few statements per 900 rows."""

    def __init__(
        self, store: Store, project: ProjectRecord, ontology: OntologyStructure | None = None
    ) -> None:
        self.store = store
        self.project = project
        self.ontology = ontology or OntologyStructure.from_dict(project.ontology)
        self._index: OntologyIndex | None = None

    @property
    def index(self) -> OntologyIndex:
        if self._index is None:
            self._index = OntologyIndex(self.ontology)
        return self._index

    def initialise_rows(self, rows: Sequence[LabelRowV2]) -> None:
        if not rows:
            return
        with paused_gc():
            self._initialise_rows(rows)

    def _initialise_rows(self, rows: Sequence[LabelRowV2]) -> None:
        existing = [r for r in rows if r.label_hash is not None]
        fresh = [r for r in rows if r.label_hash is None]
        if fresh:
            try:
                with self.store.begin() as conn:
                    documents, created = self._create(conn, fresh, existing)
            except ResourceExistsError:
                # Another writer created some of these rows between our check and our insert
                # (PostgreSQL; SQLite serialises writers): they exist now, so load them.
                with self.store.begin() as conn:
                    documents, created = self._create(conn, fresh, existing)
        else:
            with self.store.read() as conn:
                documents = row_repo.load_versioned_documents(
                    conn, [str(r.label_hash) for r in existing]
                )
            created = {}
        for row in existing:
            document, version = documents[str(row.label_hash)]
            row._load_labels(document or None, version=version)
        for row in fresh:
            record = created[(row.data_hash, row.branch_name)]
            document, version = documents.get(str(record.label_hash), ({}, record.version))
            row._load_labels(document or None, metadata_from_record(record), version)

    def _create(
        self, conn: Connection, fresh: Sequence[LabelRowV2], existing: Sequence[LabelRowV2]
    ) -> tuple[dict[str, tuple[dict[str, Any], int]], dict[tuple[str, str], RowRecord]]:
        pairs = list(dict.fromkeys((r.data_hash, r.branch_name) for r in fresh))
        try:
            records = row_repo.create_rows(conn, self.project.id, pairs, exist_ok=True)
        except ResourceNotFoundError as exc:
            raise ResourceNotFoundError(
                f"project {self.project.title!r}: {exc} (were the data units removed?)"
            ) from exc
        created = dict(zip(pairs, records, strict=True))
        # A row another writer created first may already hold labels: load it like any other.
        hashes = [str(r.label_hash) for r in existing]
        hashes += [str(r.label_hash) for r in records if r.version > 1]
        documents = row_repo.load_versioned_documents(conn, hashes) if hashes else {}
        return documents, created

    def save_rows(self, rows: Sequence[LabelRowV2]) -> None:
        """All of ``rows`` in one transaction, encoded and written a chunk at a time.

        Chunking bounds memory (a row's JSON is built only when its chunk is written); a bad
        row in any chunk rolls back the chunks written before it.
        """
        if not rows:
            return
        with paused_gc():
            self._save_rows(rows)

    def _save_rows(self, rows: Sequence[LabelRowV2]) -> None:
        _refuse_twin_copies(rows)
        first = prepare_rows(rows[:WRITE_CHUNK], self.index)  # fail before taking the lock
        with self.store.begin() as conn:
            write_prepared(conn, first)
            del first
            for start in range(WRITE_CHUNK, len(rows), WRITE_CHUNK):
                write_prepared(conn, prepare_rows(rows[start : start + WRITE_CHUNK], self.index))
        for row in {id(r): r for r in rows}.values():  # committed: the copies are current again
            if row._version is not None:
                row._version += 1


def _refuse_twin_copies(rows: Sequence[LabelRowV2]) -> None:
    """Two row objects of one label row in one save: one's changes would silently vanish."""
    seen: dict[str, LabelRowV2] = {}
    for row in rows:
        if row.label_hash is None:
            continue
        other = seen.setdefault(row.label_hash, row)
        if other is not row:
            raise LabelRowConflictError(
                f"label row {row.data_title!r} on branch {row.branch_name!r}: two copies of it "
                "are saved together, and one's changes would be lost - make the changes on one "
                "copy and save that"
            )


# -- branches ----------------------------------------------------------------------------------


def list_branches(store: Store, project: ProjectRecord) -> list[str]:
    with store.read() as conn:
        return row_repo.list_branches(conn, project.id)


def copy_labels_to_branch(
    store: Store,
    project: ProjectRecord,
    target_branch: str,
    *,
    source_branch: str = MAIN_BRANCH,
    overwrite: bool = False,
    data_hashes: Sequence[str] | None = None,
    label_hashes: Sequence[str] | None = None,
) -> int:
    """Copy existing rows of ``source_branch`` onto ``target_branch`` in one transaction.

    Units that already have a row on the target keep it unless ``overwrite``. Returns the number
    of rows written. ``label_hashes`` select source rows.
    """
    validate_branch_name(target_branch)
    validate_branch_name(source_branch)
    if target_branch == source_branch:
        raise InvalidArgumentsError(
            f"copy_labels_to_branch: source and target are both {target_branch!r} - pick another "
            "target branch"
        )
    with store.begin() as conn:
        sources = [
            r
            for r in row_repo.list_row_metadata(
                conn,
                project.id,
                branch_name=source_branch,
                data_hashes=None if data_hashes is None else list(data_hashes),
                label_hashes=None if label_hashes is None else list(label_hashes),
            )
            if r.label_hash is not None
        ]
        if not sources:
            return 0
        targets = {
            r.data_hash: r
            for r in row_repo.list_row_metadata(
                conn,
                project.id,
                branch_name=target_branch,
                data_hashes=[r.data_hash for r in sources],
            )
        }
        chosen = [s for s in sources if overwrite or targets[s.data_hash].label_hash is None]
        if not chosen:
            return 0
        created = row_repo.create_rows(
            conn, project.id, [(s.data_hash, target_branch) for s in chosen], exist_ok=True
        )
        documents = row_repo.load_documents(conn, [str(s.label_hash) for s in chosen])
        # the copy is a function of the objects alone (not of label hash or branch), so the
        # source's, read in this transaction with its document, is the target's too
        geometry = row_repo.load_geometry(conn, [str(s.label_hash) for s in chosen])
        items: list[tuple[str, dict[str, Any], int, int, bytes | None]] = []
        for source, target in zip(chosen, created, strict=True):
            document = dict(documents[str(source.label_hash)])
            if document:
                document["label_hash"] = target.label_hash
                document["branch_name"] = target_branch
            items.append(
                (
                    str(target.label_hash),
                    document,
                    source.object_count,
                    source.classification_count,
                    geometry.get(str(source.label_hash)),
                )
            )
        row_repo.save_documents(conn, items)
    return len(items)
