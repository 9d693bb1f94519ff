"""Import of Encord label-row JSON into a project (export: ``services.exports.encord``).

An import is all or nothing: every row is matched, validated and decoded before the first write,
and all writes share one transaction, so a bad record anywhere leaves the store as it was.

The re-import rule is every import's (``writer.check_target``): a target branch that already holds
labels needs ``replace`` (the branch's labels become the file's rows, all others removed) or
``append`` (the file's rows are added; a row for a unit the branch already has replaces that row,
since an Encord row is the whole truth for its data unit). The same file appended twice is refused.
A row without ``branch_name`` is on ``main``, as Encord's SDK reads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predscope.exceptions import EmptyImportError, ImportFormatError, PredscopeError
from predscope.formats.encord import (
    EncordRowSource,
    prepare_row,
    read_label_row_file,
    row_hashes,
    row_image_hashes,
)
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.report import ImportedRow, ImportReport
from predscope.services.imports.writer import check_target
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

    if branch_name is not None:
        return branch_name  # checked by ImportOptions
    name = src.data.get("branch_name", MAIN)
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
    options: ImportOptions,
    digests: dict[str, str],
    *,
    advance: Advance = no_progress,
) -> list[tuple[EncordRowSource, LabelRowV2, bool]]:
    """Match, check the re-import rule, validate and decode every row; unless a dry run, swap
    the branches' labels (``replace``) and make the rows that are missing."""
    from predscope.store.data_units import list_data_units
    from predscope.store.imports import delete_imports
    from predscope.store.label_rows import create_rows, delete_branch_rows, list_row_metadata

    branch_name, create = options.branch, not options.dry_run
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
    branches = sorted({b for _, _, b in targets})
    for branch in branches:
        files = sorted({s.source for s, _, b in targets if b == branch})
        check_target(
            conn,
            project,
            options,
            branch=branch,
            source=", ".join(files),
            digests=[digests[f] for f in files],
        )
    records: dict[tuple[str, str], RowRecord] = {}
    for branch in branches:
        hashes = [u.data_hash for _, u, b in targets if b == branch]
        for record in list_row_metadata(conn, project.id, branch_name=branch, data_hashes=hashes):
            records[(record.data_hash, branch)] = record
    replaced = {key for key, record in records.items() if record.label_hash is not None}
    if create and options.replace:
        for branch in branches:
            delete_branch_rows(conn, project.id, branch, allow_main=True)
            delete_imports(conn, project.id, branch)
        records = {key: replace(r, label_hash=None) for key, r in records.items()}
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
    options: ImportOptions,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import label-row files into ``project``; the branch is ``options.branch``, else (with
    ``branch_in_rows``) each row's ``branch_name``, else ``main``."""
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    sources: list[EncordRowSource] = []
    for path in files:
        sources.extend(read_label_row_file(path))
    digests = {str(p): _digest(p) for p in files}
    report = ImportReport(
        source=", ".join(str(p) for p in files),
        branch_name=options.branch or "",
        format="encord",
        kind="encord",
        dry_run=options.dry_run,
        mode=options.mode,
        replaced=options.replace,
        sha256=digests[str(files[0])] if len(files) == 1 else "",
        annotations=len(sources),
        mapping_source="rows",
        files=[str(p) for p in files],
    )
    if not sources:
        raise EmptyImportError(
            report.source,
            "",
            "nothing to import: the file(s) hold no label rows",
            "export label rows with `predscope export encord` or Encord's SDK",
        )
    dry_run = options.dry_run
    context = store.read() if dry_run else store.begin()
    verb = "checking" if dry_run else "importing"
    with (
        paused_gc(),
        progress_steps(progress, f"{verb} {len(sources)} label rows", len(sources)) as advance,
        context as conn,
    ):
        report.label_rows = write_encord_rows(
            conn, project, sources, options, digests, advance=advance
        )
        report.rows = len(report.label_rows)
        report.objects = sum(r.objects for r in report.label_rows)
        report.classifications = sum(r.classifications for r in report.label_rows)
        if not report.branch_name:
            report.branch_name = ", ".join(report.branches)
        if not dry_run:
            _record(conn, project, files, digests, report)
    return report


def write_encord_rows(
    conn: Connection,
    project: ProjectRecord,
    sources: Sequence[EncordRowSource],
    options: ImportOptions,
    digests: dict[str, str],
    *,
    advance: Advance = no_progress,
) -> list[ImportedRow]:
    """Import Encord label rows, wherever they came from (files, an Encord server), inside the
    caller's transaction; ``digests`` maps each ``source`` to the digest the re-import rule
    compares. Nothing is written on a dry run; what would be is returned either way."""
    ontology = OntologyStructure.from_dict(project.ontology)
    prepared = _prepare_all(conn, project, ontology, sources, options, digests, advance=advance)
    if not options.dry_run:
        write_rows(conn, project, [row for _, row, _ in prepared])
    return [
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
        for src, row, was_there in prepared
    ]


def _record(
    conn: Connection,
    project: ProjectRecord,
    files: Sequence[Path],
    digests: dict[str, str],
    report: ImportReport,
) -> None:
    """Provenance: one record per (file, branch) written."""
    from predscope.store.imports import record_import

    for path in files:
        mine = [r for r in report.label_rows if r.source == str(path)]
        for branch in sorted({r.branch_name for r in mine}):
            on_branch = [r for r in mine if r.branch_name == branch]
            record_import(
                conn,
                project.id,
                branch,
                "encord",
                path.name,
                digests[str(path)],
                params={"path": str(path), "mode": report.mode},
                report={
                    "rows": len(on_branch),
                    "objects": sum(r.objects for r in on_branch),
                    "classifications": sum(r.classifications for r in on_branch),
                },
            )
