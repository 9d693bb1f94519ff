"""The writing half of every file import (COCO, YOLO, VOC): one report type, one transaction.

Importers first build a ``Plan`` (validated coordinates per data unit) without touching the store;
``write_plan`` then applies the re-import rule (``check_target``), optionally swaps the branch's
labels, creates the rows, adds the objects through the objects layer (so stored documents are
canonical) and saves them with ``services.rows.write_rows``, in chunks, inside one transaction:
any failure leaves nothing behind.
Single images skip the per-object instances: ``import_documents`` builds their documents directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from predscope.exceptions import (
    BranchHasLabelsError,
    DuplicateImportError,
    EmptyImportError,
    ImportFormatError,
    UnknownCategoryError,
)
from predscope.formats.coco_attributes import Answers
from predscope.formats.coco_mapping import ObjectTarget, UnitTarget
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.label_row import LabelRowV2
from predscope.objects.label_row_metadata import now_string
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.documents import EntryTemplates, fast_document
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.report import ImportReport
from predscope.services.progress import Progress, progress_steps
from predscope.services.rows import (
    OntologyIndex,
    metadata_from_record,
    paused_gc,
    write_prepared,
    write_rows,
)
from predscope.store import data_units as unit_repo
from predscope.store import imports as import_repo
from predscope.store import label_rows as row_repo
from predscope.store.branches import MAIN_BRANCH
from predscope.store.engine import Store
from predscope.store.records import ImportRecord, ProjectRecord

__all__ = [
    "ImportReport",
    "Plan",
    "PlannedObject",
    "UnitPlan",
    "check_target",
    "find_ground_truth_import",
    "handle_unmatched",
    "paused_gc",
    "refuse_empty",
    "object_targets",
    "unit_targets",
    "write_plan",
]

# Rows encoded and saved per step: bounds the memory of one step, not the transaction.
WRITE_CHUNK = 500


@dataclass(slots=True)
class PlannedObject:
    """One object to write: validated coordinates on one frame of one data unit."""

    feature_hash: str
    frame: int
    coordinates: Any  # None when ``box`` holds a box checked as a column (the fast path)
    confidence: float
    extra: dict[str, Any] | None = None
    box: Sequence[float] | None = None  # normalised (h, w, x, y)
    answers: Answers | None = None  # attribute answers (COCO ``attributes``)

    def coords(self) -> Any:
        """The coordinates object (built from ``box`` for boxes planned as columns)."""
        if self.coordinates is None and self.box is not None:
            self.coordinates = BoundingBoxCoordinates(*self.box)
        return self.coordinates


Plan = dict[str, list[PlannedObject]]  # data hash -> objects, in file order


@dataclass(slots=True)
class UnitPlan:
    """The objects planned for one data unit as columns, in file order.

    COCO detections arrive by the hundred thousand: one Python object each (``PlannedObject``)
    costs more than writing them. Object ``i`` is a box checked as a column when ``boxes[i]`` is
    set (normalised ``(h, w, x, y)``), else its geometry is ``coordinates[i]``.
    """

    feature_hashes: list[str]
    frames: list[int]
    confidences: list[float]
    boxes: list[Sequence[float] | None]
    coordinates: list[Any] | None = None  # None when every object is a box
    extras: list[dict[str, Any] | None] | None = None  # None when no object has any
    answers: list[Answers | None] | None = None  # None when no object has any
    # ``boxes`` and ``confidences`` as float64 columns ((n, 4) and (n,)) when the planner holds
    # them so: the geometry copy is packed from them without a pass over the lists
    box_array: Any = None
    score_array: Any = None

    def __len__(self) -> int:
        return len(self.feature_hashes)

    @classmethod
    def from_objects(cls, items: Sequence[PlannedObject]) -> UnitPlan:
        boxes = [o.box if o.coordinates is None else None for o in items]
        coords = [o.coordinates for o in items]
        extras = [o.extra for o in items]
        answers = [o.answers for o in items]
        return cls(
            [o.feature_hash for o in items],
            [o.frame for o in items],
            [o.confidence for o in items],
            boxes,
            coords if any(c is not None for c in coords) else None,
            extras if any(extras) else None,
            answers if any(answers) else None,
        )

    def objects(self) -> Iterator[PlannedObject]:
        """One ``PlannedObject`` per object (the objects-layer path for videos and groups)."""
        coords = self.coordinates or [None] * len(self)
        extras = self.extras or [None] * len(self)
        answers = self.answers or [None] * len(self)
        for fh, frame, conf, box, c, extra, answer in zip(
            self.feature_hashes,
            self.frames,
            self.confidences,
            self.boxes,
            coords,
            extras,
            answers,
            strict=True,
        ):
            yield PlannedObject(fh, frame, c, conf, extra, box, answer)


def handle_unmatched(
    report: ImportReport, kind: str, counts: Counter[int], labels: list[str], policy: str
) -> None:
    """Record skipped annotations per unmatched category/image, or raise (policy ``error``)."""
    if not counts:
        return
    found = {labels[k]: n for k, n in counts.items()}
    if policy == "skip":
        target = report.skipped_categories if kind == "category" else report.skipped_images
        target.update(found)
        return
    listed = ", ".join(f"{label} ({n})" for label, n in list(found.items())[:8])
    option = f"--on-unknown-{kind} skip"
    cls = UnknownCategoryError if kind == "category" else ImportFormatError
    raise cls(
        report.source,
        "categories" if kind == "category" else "images",
        f"{sum(counts.values())} annotation(s) of {len(counts)} {kind} id(s) match nothing in the "
        f"project: {listed}",
        f"add them to the project, give a {kind} map, or pass {option}",
    )


def object_targets(ontology: OntologyStructure) -> list[ObjectTarget]:
    return [
        ObjectTarget(o.feature_node_hash, o.name, str(getattr(o.shape, "value", o.shape)))
        for o in ontology.objects
        if not o.archived
    ]


def unit_targets(store: Store, project: ProjectRecord) -> list[UnitTarget]:
    """One target per single image / video and one per image of an image group."""
    with store.read() as conn:
        units = unit_repo.list_data_units(conn, project.id)
    out: list[UnitTarget] = []
    for u in units:
        if u.data_type == "img_group" and u.images:
            out.extend(
                UnitTarget(u.data_hash, im.title, im.width, im.height, im.frame) for im in u.images
            )
        elif u.data_type in ("image", "video", "img_group"):
            out.append(UnitTarget(u.data_hash, u.data_title, u.width, u.height, 0))
    return out


def find_ground_truth_import(store: Store, project: ProjectRecord) -> ImportRecord | None:
    """The latest COCO ground-truth import on ``main`` (its recorded ids serve results lists)."""
    with store.read() as conn:
        found = import_repo.find_imports(conn, project.id, branch_name=MAIN_BRANCH)
    found = [r for r in found if r.kind == "coco" and r.params.get("ground_truth")]
    return found[-1] if found else None


def check_target(
    conn: Any,
    project: ProjectRecord,
    options: ImportOptions,
    *,
    branch: str,
    source: str,
    digests: Sequence[str],
) -> None:
    """The re-import rule: a branch holding labels needs ``replace`` or ``append``, and the very
    same file (one of ``digests``) is never appended twice. Checked inside the write transaction
    (and on a dry run)."""
    held = [
        r
        for r in row_repo.list_row_metadata(conn, project.id, branch_name=branch)
        if r.label_hash and (r.object_count or r.classification_count)
    ]
    earlier = import_repo.find_imports(conn, project.id, branch_name=branch)
    same = [r for r in earlier if r.sha256 in digests]
    if options.mode == "append" and same and held:
        when = same[-1].created_at.strftime("%Y-%m-%d %H:%M:%S")
        raise DuplicateImportError(
            f"{source}: this very file (sha256 {same[-1].sha256[:12]}...) was already "
            f"imported into branch {branch!r} of project {project.title!r} on {when} UTC - "
            f"appending it again would duplicate every object; pass {options.spell('replace')} "
            "to swap the branch's labels for this file's, or use a new branch"
        )
    if options.mode != "new" or not held:
        return
    objects = sum(r.object_count for r in held)
    classifications = sum(r.classification_count for r in held)
    what = f"{objects} objects and {classifications} classifications in {len(held)} rows"
    if earlier:
        last = earlier[-1]
        when = last.created_at.strftime("%Y-%m-%d %H:%M:%S")
        again = " (this very file)" if last.sha256 in digests else ""
        what += f", last imported from {last.source_name}{again} on {when} UTC"
    else:
        what += " (saved, not imported)"
    raise BranchHasLabelsError(
        f"{source}: branch {branch!r} of project {project.title!r} already holds labels: "
        f"{what} - pass {options.spell('replace')} to swap them for this import's, or "
        f"{options.spell('append')} to add this import's to them"
    )


def refuse_empty(report: ImportReport, options: ImportOptions) -> None:
    """An import that would write nothing is an error that says why (and is not recorded)."""
    if report.objects or report.classifications:
        return
    if report.annotations == 0:
        why = "it holds no annotations"
    else:
        parts = []
        if report.skipped_images:
            n = sum(report.skipped_images.values())
            parts.append(
                f"{n} were skipped because their {len(report.skipped_images)} image(s) match no "
                f"data unit ({options.spell('on_unknown_image')} skip)"
            )
        if report.skipped_categories:
            n = sum(report.skipped_categories.values())
            parts.append(
                f"{n} were skipped because their {len(report.skipped_categories)} category(ies) "
                f"match no ontology object ({options.spell('on_unknown_category')} skip)"
            )
        why = f"of its {report.annotations} annotations, " + "; ".join(parts or ["none is kept"])
    raise EmptyImportError(
        report.source,
        "",
        f"nothing to import into branch {report.branch_name!r}: {why}",
        "check that the file belongs to this project (file names, image ids, category names), "
        "or give an image or category map",
    )


def _build_rows(
    records: Sequence[Any],
    documents: dict[str, dict[str, Any]],
    plan: dict[str, UnitPlan],
    objects: dict[str, Object],
    ontology: OntologyStructure,
    manual: bool,
    stamp: str,
) -> list[LabelRowV2]:
    rows: list[LabelRowV2] = []
    for record in records:
        metadata = metadata_from_record(record)
        row = LabelRowV2(metadata, ontology)
        row._load_labels(documents.get(str(record.label_hash)) or None, metadata)
        for item in plan.pop(record.data_hash).objects():
            inst = objects[item.feature_hash].create_instance()
            inst.set_for_frames(
                item.coords(),
                frames=item.frame,
                created_at=stamp,
                confidence=item.confidence,
                manual_annotation=manual,
            )
            if item.extra:
                inst.get_annotation(item.frame).extra = item.extra
            for attribute, answer in item.answers or ():
                inst.set_answer(answer, attribute=attribute, manual_annotation=manual)
            row.add_object_instance(inst)
        rows.append(row)
    return rows


def write_plan(
    store: Store,
    project: ProjectRecord,
    ontology: OntologyStructure,
    plan: Mapping[str, list[PlannedObject] | UnitPlan],
    report: ImportReport,
    options: ImportOptions,
    *,
    kind: str,
    params: dict[str, Any],
    progress: Progress | None = None,
    conn: Connection | None = None,
) -> None:
    """Write ``plan`` onto ``report.branch_name`` in one transaction (nothing on ``dry_run``).

    ``conn``: an open write transaction of the caller's to write in (instead of a new one)."""
    report.rows = len(plan)
    report.mode = options.mode
    report.replaced = options.replace
    refuse_empty(report, options)
    target: dict[str, Any] = {
        "branch": report.branch_name,
        "source": report.source,
        "digests": [report.sha256],
    }
    if report.dry_run:
        with store.read() as conn:
            check_target(conn, project, options, **target)
        return
    objects = {o.feature_node_hash: o for o in ontology.objects}
    manual = report.ground_truth
    stamp = now_string()
    branch = report.branch_name
    templates = EntryTemplates(ontology, manual, stamp)
    index = OntologyIndex(ontology)
    opened = store.begin() if conn is None else nullcontext(conn)
    with paused_gc(), opened as conn:
        check_target(conn, project, options, **target)
        if options.replace:
            row_repo.delete_branch_rows(conn, project.id, branch, allow_main=True)
            import_repo.delete_imports(conn, project.id, branch)
        hashes = list(plan)
        with progress_steps(progress, f"writing {report.objects} objects", len(hashes)) as advance:
            for start in range(0, len(hashes), WRITE_CHUNK):
                part = hashes[start : start + WRITE_CHUNK]
                units = {h: _as_unit(plan[h]) for h in part}
                records = row_repo.create_rows(
                    conn, project.id, [(h, branch) for h in part], exist_ok=True
                )
                held = [
                    str(r.label_hash) for r in records if r.object_count or r.classification_count
                ]
                documents = row_repo.load_documents(conn, held) if held else {}
                # Rows with attribute answers go through the objects layer, like videos.
                quick = {h for h, u in units.items() if u.answers is None}
                fast: list[Any] = []
                slow: list[Any] = []
                for r in records:
                    is_fast = r.unit.data_type == "image" and r.data_hash in quick
                    (fast if is_fast else slow).append(r)
                prepared = [
                    fast_document(
                        record,
                        documents.get(str(record.label_hash)),
                        units.pop(record.data_hash),
                        templates,
                        index,
                    )
                    for record in fast
                ]
                write_prepared(conn, prepared)
                del prepared
                rows = _build_rows(slow, documents, units, objects, ontology, manual, stamp)
                write_rows(conn, project, rows)
                advance(len(part))
        import_repo.record_import(
            conn,
            project.id,
            branch,
            kind,
            report.source,
            report.sha256,
            params,
            {k: v for k, v in report.to_dict().items() if k != "mapping"},
        )


def _as_unit(planned: list[PlannedObject] | UnitPlan) -> UnitPlan:
    return planned if isinstance(planned, UnitPlan) else UnitPlan.from_objects(planned)
