"""The verify listing: every stored row with its objects, annotations, answers and classifications.

It reads rows through the same objects the guide's verify script uses (``LabelRowV2`` and its
instances), so ``predscope labels`` shows what that script prints; the result is plain data that
the CLI renders as text (``listing_lines``) or JSON (``listing_to_json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
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

if TYPE_CHECKING:
    from predscope.store.engine import Store
    from predscope.store.records import ProjectRecord


@dataclass(frozen=True, slots=True)
class AnnotationListing:
    frame: int
    coordinates: dict[str, Any]
    coordinates_text: str
    confidence: float
    manual_annotation: bool


@dataclass(frozen=True, slots=True)
class AttributeListing:
    name: str
    feature_hash: str
    type: str
    dynamic: bool
    answer: Any
    answer_text: str
    attribute_text: str
    nested: list[AttributeListing] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ObjectListing:
    object_hash: str
    object_name: str
    feature_hash: str
    uid: int
    color: str
    shape: str
    instance_text: str
    annotations: list[AnnotationListing]
    attributes: list[AttributeListing]


@dataclass(frozen=True, slots=True)
class ClassificationListing:
    classification_hash: str
    classification_name: str
    feature_hash: str
    answer: Any
    answer_text: str
    answer_hash: str | None
    frames: list[int]


@dataclass(frozen=True, slots=True)
class RowListing:
    data_title: str
    data_hash: str
    data_type: str
    branch_name: str
    label_hash: str
    objects: list[ObjectListing]
    classifications: list[ClassificationListing]


# -- store access ----------------------------------------------------------------------------


def load_stored_rows(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str | None = None,
    all_branches: bool = False,
) -> list[LabelRowV2]:
    """Existing rows, initialised in one bundled read, as the verify script gets them."""
    from predscope.services.rows import StoreRowBackend, list_label_rows

    if all_branches and branch_name is not None:
        raise InvalidArgumentsError(
            f"labels: branch {branch_name!r} and all branches cannot be combined - "
            "pass --branch NAME or --all-branches, not both"
        )
    ontology = OntologyStructure.from_dict(project.ontology)
    backend = StoreRowBackend(store, project, ontology)
    if all_branches:
        rows = list_label_rows(
            store, project, ontology, backend=backend, include_all_label_branches=True
        )
    else:
        rows = list_label_rows(
            store, project, ontology, backend=backend, branch_name=branch_name or "main"
        )
    rows = [row for row in rows if row.label_hash is not None]
    if not rows and not all_branches:
        with store.read() as conn:
            require_branch(conn, project, branch_name or "main")
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
        has_hash = hasattr(answer, "feature_node_hash")
        classifications.append(
            ClassificationListing(
                classification_hash=inst.classification_hash,
                classification_name=inst.classification_name,
                feature_hash=inst.feature_hash,
                answer=answer_to_json(answer),
                answer_text=str(answer.value) if has_hash else str(answer),  # type: ignore[union-attr]
                answer_hash=str(answer.feature_node_hash) if has_hash else None,  # type: ignore[union-attr]
                frames=[a.frame for a in inst.get_annotations()],
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


def verify_listing(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str | None = None,
    all_branches: bool = False,
) -> list[RowListing]:
    """Rows of one branch (default ``main``) or of every branch, as plain data."""
    rows = load_stored_rows(store, project, branch_name=branch_name, all_branches=all_branches)
    return [row_listing(row) for row in rows]


# -- rendering -------------------------------------------------------------------------------


def listing_lines(listings: Sequence[RowListing]) -> list[str]:
    """The lines the guide's verify script prints, in its order and wording."""
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
        for cls in row.classifications:
            lines.append(f"classificationHash: {cls.classification_hash}")
            lines.append(f"Classification name: {cls.classification_name}")
            lines.append(f"featureHash: {cls.feature_hash}")
            lines.append(f"Classification answer: {cls.answer_text}")
            if cls.answer_hash is not None:
                lines.append(f"Classification answer hash: {cls.answer_hash}")
            for frame in cls.frames:
                lines.append(f"Classification appears on frame: {frame}")
    return lines


def listing_to_json(listings: Sequence[RowListing]) -> list[dict[str, Any]]:
    return [asdict(row) for row in listings]
