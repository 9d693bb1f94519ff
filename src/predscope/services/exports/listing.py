"""The verify listing: every stored row with its objects, annotations, answers and classifications.

It shows rows as the guide's verify script sees them through ``LabelRowV2`` and its instances, so
``predscope labels`` prints what that script prints; the result is plain data that the CLI renders
as text (``listing_lines``) or JSON (``json_text.write_json_array``). ``iter_listing`` streams:
rows are read from the store in batches and listed one at a time, plain rows straight from their
stored documents (``listing_documents``), the others through the decoder, so memory stays flat
however large the branch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from predscope.exceptions import InvalidArgumentsError
from predscope.objects.answers import AnswerForFrames
from predscope.objects.attributes import Attribute, RadioAttribute
from predscope.objects.coordinates import coordinates_to_encord
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_object_instance import ObjectInstance
from predscope.objects.ontology_structure import OntologyStructure
from predscope.objects.options import Option
from predscope.services.branches import require_branch
from predscope.services.exports.listing_model import (
    AnnotationListing,
    AttributeListing,
    ClassificationFrameListing,
    ClassificationListing,
    ObjectListing,
    RowListing,
)
from predscope.store.branches import validate_branch_name

if TYPE_CHECKING:
    from predscope.store.engine import Store
    from predscope.store.records import ProjectRecord, RowRecord

__all__ = [
    "AnnotationListing",
    "AttributeListing",
    "ClassificationFrameListing",
    "ClassificationListing",
    "ObjectListing",
    "RowListing",
    "decoded_row",
    "existing_records",
    "iter_listing",
    "listed_rows",
    "listing_lines",
    "listing_to_json",
    "load_stored_rows",
    "row_listing",
    "stored_documents",
    "verify_listing",
]

# Rows whose documents are read (and held) at a time: large enough that the per-query cost
# vanishes, small enough that a branch of dense rows stays far below the memory goal.
BATCH_ROWS = 200


# -- store access ----------------------------------------------------------------------------


def load_stored_rows(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str | None = None,
    all_branches: bool = False,
) -> list[LabelRowV2]:
    """Existing rows, initialised in one bundled read, as the verify script gets them."""
    from predscope.services.rows import StoreRowBackend, metadata_from_record

    records = existing_records(store, project, branch_name, all_branches)
    ontology = OntologyStructure.from_dict(project.ontology)
    backend = StoreRowBackend(store, project, ontology)
    rows = [LabelRowV2(metadata_from_record(r), ontology, backend) for r in records]
    backend.initialise_rows(rows)
    return rows


# -- building the listing --------------------------------------------------------------------


def answer_to_json(answer: Any) -> Any:
    """Answers as JSON: options by label, value and hash; dynamic answers with their ranges."""
    if isinstance(answer, Option):
        return {
            "label": answer.label,
            "value": answer.value,
            "feature_node_hash": answer.feature_node_hash,
        }
    if isinstance(answer, AnswerForFrames):
        return {
            "answer": answer_to_json(answer.answer),
            "ranges": [[r.start, r.end] for r in answer.ranges],
        }
    if isinstance(answer, list):
        return [answer_to_json(a) for a in answer]
    return answer


def _attribute_listing(instance: ObjectInstance, attribute: Attribute) -> AttributeListing:
    answer = instance.get_answer(attribute)
    nested: list[AttributeListing] = []
    if isinstance(attribute, RadioAttribute) and isinstance(answer, Option):
        for sub in getattr(answer, "nested_options", []):
            nested.append(_attribute_listing(instance, sub))
    return AttributeListing(
        name=attribute.name,
        feature_hash=attribute.feature_node_hash,
        type=attribute.type_name,
        dynamic=attribute.dynamic,
        answer=answer_to_json(answer),
        answer_text=str(answer),
        attribute_text=str(attribute),
        nested=nested,
    )


def _coordinates_json(coordinates: Any) -> dict[str, Any]:
    try:
        return coordinates_to_encord(coordinates)
    except Exception:  # noqa: BLE001 - a listing shows unknown geometry as text, never fails
        return {"text": str(coordinates)}


def object_listing(instance: ObjectInstance) -> ObjectListing:
    item = instance.ontology_item
    return ObjectListing(
        object_hash=instance.object_hash,
        object_name=instance.object_name,
        feature_hash=instance.feature_hash,
        uid=item.uid,
        color=item.color,
        shape=str(item.shape),
        instance_text=str(instance),
        annotations=[
            AnnotationListing(
                frame=a.frame,
                coordinates=_coordinates_json(a.coordinates),
                coordinates_text=str(a.coordinates),
                confidence=a.confidence,
                manual_annotation=a.manual_annotation,
            )
            for a in instance.get_annotations()
        ],
        attributes=[_attribute_listing(instance, attr) for attr in item.attributes],
    )


def row_listing(row: LabelRowV2) -> RowListing:
    classifications: list[ClassificationListing] = []
    for inst in row.get_classification_instances():
        answer = inst.get_answer()
        annotations = inst.get_annotations()
        has_hash = hasattr(answer, "feature_node_hash")
        classifications.append(
            ClassificationListing(
                classification_hash=inst.classification_hash,
                classification_name=inst.classification_name,
                feature_hash=inst.feature_hash,
                answer=answer_to_json(answer),
                answer_text=str(answer.value) if has_hash else str(answer),  # type: ignore[union-attr]
                answer_hash=str(answer.feature_node_hash) if has_hash else None,  # type: ignore[union-attr]
                frames=[a.frame for a in annotations],
                annotations=[
                    ClassificationFrameListing(a.frame, a.confidence, a.manual_annotation)
                    for a in annotations
                ],
            )
        )
    return RowListing(
        data_title=row.data_title,
        data_hash=row.data_hash,
        data_type=row.data_type,
        branch_name=row.branch_name,
        label_hash=str(row.label_hash),
        objects=[object_listing(o) for o in row.get_object_instances()],
        classifications=classifications,
    )


def existing_records(
    store: Store, project: ProjectRecord, branch_name: str | None, all_branches: bool
) -> list[RowRecord]:
    """The records of the rows a listing shows (checked before anything is written)."""
    from predscope.services.rows import list_row_records

    if all_branches and branch_name is not None:
        raise InvalidArgumentsError(
            f"labels: branch {branch_name!r} and all branches cannot be combined - "
            "pass --branch NAME or --all-branches, not both"
        )
    if branch_name is not None:
        branch_name = validate_branch_name(branch_name)  # "" is an error, not main
    if all_branches:
        records = list_row_records(store, project, include_all_label_branches=True)
    else:
        records = list_row_records(store, project, branch_name=branch_name or "main")
    records = [r for r in records if r.label_hash is not None]
    if not records and not all_branches:
        with store.read() as conn:
            require_branch(conn, project, branch_name or "main")
    return records


def iter_listing(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str | None = None,
    all_branches: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[RowListing]:
    """Rows of one branch (default ``main``) or of every branch, listed one at a time.

    Arguments and the branch are checked now (a bad one raises before anything is listed); the
    documents are then read ``batch_rows`` at a time as the listing is consumed.

    >>> for row in iter_listing(store, project, branch_name="model-a"):  # doctest: +SKIP
    ...     print(row.data_title, len(row.objects))
    """
    records = existing_records(store, project, branch_name, all_branches)
    return listed_rows(store, project, records, batch_rows)


def listing_page(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str | None = None,
    offset: int = 0,
    limit: int = 25,
) -> tuple[list[RowListing], bool]:
    """One page of the listing of a branch (None: every branch), paged in SQL over (unit,
    branch) positions; and whether more follow. A page costs the same on any project size."""
    from predscope.store.label_rows import list_row_metadata

    with store.read() as conn:
        records = list_row_metadata(
            conn,
            project.id,
            branch_name=None if branch_name is None else validate_branch_name(branch_name),
            include_all_branches=branch_name is None,
            offset=offset,
            limit=limit + 1,
        )
        present = [r for r in records[:limit] if r.label_hash is not None]
        if branch_name is not None and not present and offset == 0:
            require_branch(conn, project, branch_name)  # a branch that holds nothing is named
    more = len(records) > limit
    return list(listed_rows(store, project, present, BATCH_ROWS)), more


def stored_documents(
    store: Store, records: Sequence[RowRecord], batch_rows: int = BATCH_ROWS
) -> Iterator[list[tuple[RowRecord, dict[str, Any]]]]:
    """The rows' stored documents, ``batch_rows`` rows per read, in the records' order."""
    from predscope.services.rows import paused_gc
    from predscope.store import label_rows as row_repo

    for start in range(0, len(records), max(1, batch_rows)):
        batch = records[start : start + max(1, batch_rows)]
        # Decoding documents makes many containers and no cycles: the collector would only
        # walk them (a third of the reading time once the rest of an export got fast).
        with store.read() as conn, paused_gc():
            documents = row_repo.load_documents(conn, [str(r.label_hash) for r in batch])
        yield [(record, documents[str(record.label_hash)]) for record in batch]


def decoded_row(
    record: RowRecord, document: dict[str, Any], ontology: OntologyStructure, backend: Any
) -> LabelRowV2:
    """A stored row decoded from a document already read (no second read)."""
    from predscope.services.rows import metadata_from_record

    row = LabelRowV2(metadata_from_record(record), ontology, backend)
    row._load_labels(document or None)
    return row


def listed_rows(
    store: Store,
    project: ProjectRecord,
    records: Sequence[RowRecord],
    batch_rows: int,
    from_document: Callable[[tuple[str, str, str, str, str], dict[str, Any], Any], Any]
    | None = None,
) -> Iterator[Any]:
    """Each row as ``from_document(head, document, kinds)`` gives it (default: the listing of
    a plain row, ``listing_documents.listing_from_document``), or, where that gives None, the
    listing of the decoded row."""
    from predscope.services.exports.listing_documents import ObjectKinds, listing_from_document
    from predscope.services.rows import StoreRowBackend, paused_gc

    plain = from_document or listing_from_document
    ontology = OntologyStructure.from_dict(project.ontology)
    kinds = ObjectKinds(ontology)
    backend = StoreRowBackend(store, project, ontology)
    for batch in stored_documents(store, records, batch_rows):
        listed: list[Any] = []
        with paused_gc():  # a batch makes many objects and no cycles worth a collection
            for record, document in batch:
                unit = record.unit
                head = (
                    unit.data_title,
                    unit.data_hash,
                    unit.data_type,
                    record.branch_name,
                    str(record.label_hash),
                )
                listing = plain(head, document, kinds)
                if listing is None:
                    listing = row_listing(decoded_row(record, document, ontology, backend))
                listed.append(listing)
        del batch
        yield from listed


def verify_listing(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str | None = None,
    all_branches: bool = False,
) -> list[RowListing]:
    """Rows of one branch (default ``main``) or of every branch, as plain data (see
    ``iter_listing`` for a listing too large to hold)."""
    return list(iter_listing(store, project, branch_name=branch_name, all_branches=all_branches))


# -- rendering -------------------------------------------------------------------------------


def listing_lines(listings: Sequence[RowListing]) -> list[str]:
    """The lines the guide's verify script prints, in its order and wording, plus what it leaves
    out and ``--json`` carries: nested attribute answers (indented under the answer they hang
    from) and each classification frame's confidence."""
    lines: list[str] = []
    for row in listings:
        lines.append(f"Title: {row.data_title}, branch: {row.branch_name}")
        for obj in row.objects:
            lines.append(f"objectHash: {obj.object_hash}")
            lines.append(f"Object name: {obj.object_name}")
            lines.append(f"featureHash: {obj.feature_hash}")
            lines.append(f"uid: {obj.uid}")
            lines.append(f"Object color: {obj.color}")
            lines.append(f"Ontology shape: {obj.shape}")
            for ann in obj.annotations:
                lines.append(f"Frame {ann.frame} -> {ann.coordinates_text}")
                lines.append(f"  confidence: {ann.confidence}, manual: {ann.manual_annotation}")
            for attr in obj.attributes:
                lines.append(f"{attr.attribute_text} {obj.instance_text}")
                lines.append(f"  answer: {attr.answer_text}")
                _nested_lines(attr.nested, "  ", lines)
        for cls in row.classifications:
            lines.append(f"classificationHash: {cls.classification_hash}")
            lines.append(f"Classification name: {cls.classification_name}")
            lines.append(f"featureHash: {cls.feature_hash}")
            lines.append(f"Classification answer: {cls.answer_text}")
            if cls.answer_hash is not None:
                lines.append(f"Classification answer hash: {cls.answer_hash}")
            for frame in cls.annotations:
                lines.append(f"Classification appears on frame: {frame.frame}")
                lines.append(f"  confidence: {frame.confidence}, manual: {frame.manual_annotation}")
    return lines


def _nested_lines(nested: Sequence[AttributeListing], indent: str, lines: list[str]) -> None:
    for sub in nested:
        lines.append(f"{indent}nested {sub.attribute_text}")
        lines.append(f"{indent}  answer: {sub.answer_text}")
        _nested_lines(sub.nested, indent + "  ", lines)


def listing_to_json(listings: Sequence[RowListing]) -> list[dict[str, Any]]:
    return [asdict(row) for row in listings]
