"""Import of Encord label-row JSON into a project (export: ``services.exports.encord``).

An import is all or nothing: every row is matched, validated and decoded before the first write,
and all writes share one transaction, so a bad record anywhere leaves the store as it was. A row in
the file is the whole truth for its (data unit, branch): importing replaces what that row held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predscope.exceptions import ImportFormatError, PredscopeError
from predscope.formats.encord import (
    EncordRowSource,
    prepare_row,
    read_label_row_file,
    row_hashes,
    row_image_hashes,
)
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.progress import Advance, Progress, no_progress, progress_steps
from predscope.services.rows import metadata_from_record, paused_gc, write_rows

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from predscope.store.engine import Store
    from predscope.store.records import DataUnitRecord, ProjectRecord, RowRecord

MAIN = "main"
LABEL_STATUSES = frozenset(
    {
        "NOT_LABELLED",
        "LABEL_IN_PROGRESS",
        "LABELLED",
        "REVIEW_IN_PROGRESS",
        "REVIEWED",
        "REVIEWED_TWICE",
    }
)


@dataclass(frozen=True, slots=True)
class ImportedRow:
    source: str
    index: int
    data_title: str
    data_hash: str
    branch_name: str
    objects: int
    classifications: int
    replaced: bool


@dataclass(slots=True)
class EncordImportReport:
    """What an import wrote (or, with ``dry_run``, would write)."""

    dry_run: bool
    files: list[str]
    rows: list[ImportedRow] = field(default_factory=list)

    @property
    def branches(self) -> dict[str, dict[str, int]]:
        """Per branch: rows, objects, classifications and rows replaced."""
        out: dict[str, dict[str, int]] = {}
        for row in self.rows:
            counts = out.setdefault(
                row.branch_name, {"rows": 0, "objects": 0, "classifications": 0, "replaced": 0}
            )
            counts["rows"] += 1
            counts["objects"] += row.objects
            counts["classifications"] += row.classifications
            counts["replaced"] += int(row.replaced)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "files": list(self.files),
            "branches": self.branches,
            "rows": [asdict(r) for r in self.rows],
        }


class _UnitIndex:
    """Finds the project's data unit for a row: by data hash, then by title."""

    def __init__(self, units: Sequence[DataUnitRecord]) -> None:
        self.by_hash: dict[str, DataUnitRecord] = {}
        self.by_title: dict[str, list[DataUnitRecord]] = {}
        self.by_image: dict[str, DataUnitRecord] = {}
        for unit in units:
            self.by_hash[unit.data_hash] = unit
            self.by_title.setdefault(unit.data_title, []).append(unit)
            for image in unit.images:
                self.by_image[image.image_hash] = unit

    def find(self, src: EncordRowSource) -> DataUnitRecord:
        for key in row_hashes(src.data):
            if key in self.by_hash:
                return self.by_hash[key]
        if src.data.get("data_type") == "img_group":
            for key in row_image_hashes(src.data):
                if key in self.by_image:
                    return self.by_image[key]
        title = src.data.get("data_title")
        found = self.by_title.get(title, []) if isinstance(title, str) else []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise src.error(
                f"data title {title!r} matches {len(found)} data units",
                "data_title",
                hint="give the row the data_hash of the unit it belongs to",
            )
        raise src.error(
            f"unknown data unit: no data unit has hash {src.data.get('data_hash')!r} "
            f"or title {title!r}",
            "data_hash",
            hint="add the media first (predscope data add) or fix data_hash / data_title",
        )


def _branch_for(src: EncordRowSource, branch_name: str | None) -> str:
    from predscope.store.branches import validate_branch_name

    name = branch_name or src.data.get("branch_name") or MAIN
    try:
        return validate_branch_name(name)
    except PredscopeError as exc:
        raise src.error(str(exc), "branch_name") from None


def _decode(src: EncordRowSource, prepared: dict[str, Any], row: LabelRowV2) -> None:
    """Build the row's instances; objects-layer errors get the file and row in front."""
    try:
        row._load_labels(prepared, row.metadata)
    except ImportFormatError:
        raise
    except PredscopeError as exc:
        raise src.error(str(exc)) from None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _prepare_all(
    conn: Connection,
    project: ProjectRecord,
    ontology: OntologyStructure,
    sources: Sequence[EncordRowSource],
    branch_name: str | None,
    *,
    create: bool,
    advance: Advance = no_progress,
) -> list[tuple[EncordRowSource, LabelRowV2, bool]]:
    """Match, validate and decode every row; with ``create``, make the rows that are missing."""
    from predscope.store.data_units import list_data_units
    from predscope.store.label_rows import create_rows, list_row_metadata

    index = _UnitIndex(list_data_units(conn, project.id))
    targets: list[tuple[EncordRowSource, DataUnitRecord, str]] = []
    seen: dict[tuple[str, str], EncordRowSource] = {}
    for src in sources:
        unit = index.find(src)
        branch = _branch_for(src, branch_name)
        earlier = seen.get((unit.data_hash, branch))
        if earlier is not None:
            raise src.error(
                f"data unit {unit.data_title!r} on branch {branch!r} is already given by "
                f"{earlier.source} row {earlier.index}",
                "data_hash",
                hint="one row per data unit and branch: merge the two rows",
            )
        seen[(unit.data_hash, branch)] = src
        targets.append((src, unit, branch))
    records: dict[tuple[str, str], RowRecord] = {}
    for branch in sorted({b for _, _, b in targets}):
        hashes = [u.data_hash for _, u, b in targets if b == branch]
        for record in list_row_metadata(conn, project.id, branch_name=branch, data_hashes=hashes):
            records[(record.data_hash, branch)] = record
    replaced = {key for key, record in records.items() if record.label_hash is not None}
    if create:
        # Inside the import's transaction: a later bad record rolls these back too.
        missing = [key for key, record in records.items() if record.label_hash is None]
        for key, record in zip(missing, create_rows(conn, project.id, missing), strict=True):
            records[key] = record
    out: list[tuple[EncordRowSource, LabelRowV2, bool]] = []
    for src, unit, branch in targets:
        key = (unit.data_hash, branch)
        meta = metadata_from_record(records[key])
        status = src.data.get("label_status")
        if isinstance(status, str) and status in LABEL_STATUSES:
            meta = replace(meta, label_status=status)  # the file's status is part of the row
        prepared = prepare_row(src, ontology, meta, branch)
        row = LabelRowV2(meta, ontology)
        _decode(src, prepared, row)
        out.append((src, row, key in replaced))
        advance()
    return out


def import_encord(
    store: Store,
    project: ProjectRecord,
    paths: Iterable[str | Path],
    *,
    branch_name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> EncordImportReport:
    """Import label-row files into ``project``; the branch is ``branch_name``, else each
    row's ``branch_name``, else ``main``."""
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    sources: list[EncordRowSource] = []
    for path in files:
        sources.extend(read_label_row_file(path))
    ontology = OntologyStructure.from_dict(project.ontology)
    report = EncordImportReport(dry_run=dry_run, files=[str(p) for p in files])
    context = store.read() if dry_run else store.begin()
    verb = "checking" if dry_run else "importing"
    with (
        paused_gc(),
        progress_steps(progress, f"{verb} {len(sources)} label rows", len(sources)) as advance,
        context as conn,
    ):
        prepared = _prepare_all(
            conn, project, ontology, sources, branch_name, create=not dry_run, advance=advance
        )
        if not dry_run:
            write_rows(conn, project, [row for _, row, _ in prepared])
        for src, row, was_there in prepared:
            report.rows.append(
                ImportedRow(
                    source=src.source,
                    index=src.index,
                    data_title=row.data_title,
                    data_hash=row.data_hash,
                    branch_name=row.branch_name,
                    objects=len(row.get_object_instances()),
                    classifications=len(row.get_classification_instances()),
                    replaced=was_there,
                )
            )
        if not dry_run:
            _record(conn, project, files, report)
    return report


def _record(
    conn: Connection, project: ProjectRecord, files: Sequence[Path], report: EncordImportReport
) -> None:
    """Provenance: one record per (file, branch) written."""
    from predscope.store.imports import record_import

    for path in files:
        mine = [r for r in report.rows if r.source == str(path)]
        for branch in sorted({r.branch_name for r in mine}):
            on_branch = [r for r in mine if r.branch_name == branch]
            record_import(
                conn,
                project.id,
                branch,
                "encord",
                path.name,
                _digest(path),
                params={"path": str(path)},
                report={
                    "rows": len(on_branch),
                    "objects": sum(r.objects for r in on_branch),
                    "classifications": sum(r.classifications for r in on_branch),
                },
            )
