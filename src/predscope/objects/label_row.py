"""``LabelRowV2``: the labels of one data unit on one branch, shaped like Encord's class.

The row does no I/O itself. A ``LabelRowBackend`` (the store, through the services layer) loads and
saves it; offline rows come from ``from_labels_dict``. The JSON conversion lives in
``label_row_codec`` to keep this module about state and validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from predscope.exceptions import CoordinatesError, FrameError, LabelRowError
from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.classification import Classification
from predscope.objects.classification_instance import ClassificationInstance
from predscope.objects.frames import Frames
from predscope.objects.label_row_metadata import LabelRowMetadata
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_object_instance import ObjectInstance, frame_list, shape_info
from predscope.objects.ontology_structure import OntologyStructure

if TYPE_CHECKING:
    from predscope.objects.bundle import Bundle

_RANGE_DATA_TYPES = frozenset({"audio", "plain_text", "time_series", "pdf_text", "text"})


class LabelRowBackend(Protocol):
    """Loads and persists rows; implemented by the store-backed services."""

    def initialise_rows(self, rows: Sequence[LabelRowV2]) -> None:
        """Load stored labels (or create the row) and call ``row._load_labels`` on each."""

    def save_rows(self, rows: Sequence[LabelRowV2]) -> None:
        """Persist ``row.to_encord_dict()`` of every row in one transaction."""


class LabelRowV2:
    """Mirror of ``encord.objects.LabelRowV2`` (same properties and methods scripts use)."""

    __slots__ = (
        "_metadata",
        "_ontology",
        "_backend",
        "_initialised",
        "_objects",
        "_classifications",
        "_units",
        "_label_extras",
        "_frame_sizes",
        "_extra",
        "_orphans",
        "_version",
        "init_options",
    )

    def __init__(
        self,
        metadata: LabelRowMetadata,
        ontology: OntologyStructure,
        backend: LabelRowBackend | None = None,
    ) -> None:
        self._metadata = metadata
        self._ontology = ontology
        self._backend = backend
        self._initialised = False
        self._objects: dict[str, ObjectInstance] = {}
        self._classifications: dict[str, ClassificationInstance] = {}
        # (unit key, unit dict without labels, frame number or None for frame-keyed labels)
        self._units: list[tuple[str, dict[str, Any], int | None]] = []
        self._label_extras: dict[int, dict[str, Any]] = {}
        self._frame_sizes: dict[int, tuple[int, int]] = {}
        self._extra: dict[str, Any] = {}
        # object_answers / object_actions entries for objects that have no geometry here.
        self._orphans: dict[str, dict[str, Any]] = {"object_answers": {}, "object_actions": {}}
        # Arguments of the last initialise_labels call, for the backend to honour.
        self.init_options: dict[str, Any] = {}
        # The stored version these labels were read at (set by the backend; None: detached).
        self._version: int | None = None

    # -- properties --------------------------------------------------------------------------

    @property
    def metadata(self) -> LabelRowMetadata:
        return self._metadata

    @property
    def label_hash(self) -> str | None:
        return self._metadata.label_hash

    @property
    def data_hash(self) -> str:
        return self._metadata.data_hash

    @property
    def data_title(self) -> str:
        return self._metadata.data_title

    @property
    def data_type(self) -> str:
        return self._metadata.data_type

    @property
    def branch_name(self) -> str:
        return self._metadata.branch_name

    @property
    def label_status(self) -> str:
        return self._metadata.label_status

    @property
    def dataset_hash(self) -> str | None:
        return self._metadata.dataset_hash

    @property
    def dataset_title(self) -> str | None:
        return self._metadata.dataset_title

    @property
    def number_of_frames(self) -> int | None:
        count = self._frame_count()
        return count if count is not None else self._metadata.number_of_frames

    @property
    def width(self) -> int | None:
        return self._metadata.width

    @property
    def height(self) -> int | None:
        return self._metadata.height

    @property
    def is_labelling_initialised(self) -> bool:
        return self._initialised

    @property
    def ontology_structure(self) -> OntologyStructure:
        return self._ontology

    @property
    def backend(self) -> LabelRowBackend | None:
        return self._backend

    @property
    def version(self) -> int | None:
        """The stored version these labels were read at; a save over a newer one is refused."""
        return self._version

    def __repr__(self) -> str:
        return (
            f"LabelRowV2(data_title={self.data_title!r}, data_hash={self.data_hash!r}, "
            f"branch_name={self.branch_name!r}, label_hash={self.label_hash!r}, "
            f"initialised={self._initialised})"
        )

    # -- loading and saving ------------------------------------------------------------------

    def initialise_labels(
        self,
        include_object_feature_hashes: set[str] | None = None,
        include_classification_feature_hashes: set[str] | None = None,
        include_reviews: bool = False,
        include_archived: bool = False,
        overwrite: bool = False,
        bundle: Bundle | None = None,
        *,
        include_signed_url: bool = False,
    ) -> None:
        if self._initialised and not overwrite:
            raise LabelRowError(
                f"row {self.data_title!r} ({self.branch_name}): labels are already initialised"
                " - pass overwrite=True to reload them and drop local changes"
            )
        self.init_options = {
            "include_object_feature_hashes": include_object_feature_hashes,
            "include_classification_feature_hashes": include_classification_feature_hashes,
            "include_reviews": include_reviews,
            "include_archived": include_archived,
            "include_signed_url": include_signed_url,
        }
        if bundle is not None:
            bundle.add_initialise(self)
            return
        self._require_backend("initialise_labels").initialise_rows([self])

    def save(self, bundle: Bundle | None = None, validate_before_saving: bool = False) -> None:
        self._require_initialised("save")
        if bundle is not None:
            bundle.add_save(self)
            return
        self._require_backend("save").save_rows([self])

    def _require_backend(self, action: str) -> LabelRowBackend:
        if self._backend is None:
            raise LabelRowError(
                f"row {self.data_title!r}: cannot {action} a detached row"
                " - get rows from project.list_label_rows_v2()"
            )
        return self._backend

    def _require_initialised(self, action: str) -> None:
        if not self._initialised:
            raise LabelRowError(
                f"row {self.data_title!r} ({self.branch_name}): cannot {action} before"
                " initialise_labels() - call row.initialise_labels() (or a bundle) first"
            )

    def _load_labels(
        self,
        label_dict: dict[str, Any] | None,
        metadata: LabelRowMetadata | None = None,
        version: int | None = None,
    ) -> None:
        """Called by the backend: ``None`` means a brand-new empty row; ``version`` as stored."""
        from predscope.objects.label_row_codec import decode_into, reset_for_metadata

        if metadata is not None:
            self._metadata = metadata
        self._objects = {}
        self._classifications = {}
        self._orphans = {"object_answers": {}, "object_actions": {}}
        self._label_extras = {}
        reset_for_metadata(self)
        if label_dict is not None:
            decode_into(self, label_dict)
        self._version = version
        self._initialised = True

    def to_encord_dict(self) -> dict[str, Any]:
        self._require_initialised("to_encord_dict")
        from predscope.objects.label_row_codec import encode

        return encode(self)

    @classmethod
    def from_labels_dict(
        cls,
        label_dict: dict[str, Any],
        ontology: OntologyStructure,
        metadata: LabelRowMetadata | None = None,
    ) -> LabelRowV2:
        """An initialised, detached row built from Encord label-row JSON."""
        from predscope.objects.label_row_metadata import metadata_from_dict

        row = cls(metadata or metadata_from_dict(label_dict), ontology)
        row._load_labels(label_dict)
        return row

    # -- frames ------------------------------------------------------------------------------

    def _frame_count(self) -> int | None:
        md = self._metadata
        if md.data_type == "image":
            return 1
        if md.data_type == "img_group":
            units = sum(1 for unit in self._units if unit[2] is not None)
            return units or md.number_of_frames or len(md.images) or None
        if md.data_type in _RANGE_DATA_TYPES:
            return None
        return md.number_of_frames or None

    def _check_frames(self, frames: Iterable[int], what: str) -> None:
        count = self._frame_count()
        if count is None:
            return
        bad = [f for f in frames if f >= count]
        if bad:
            raise FrameError(
                f"row {self.data_title!r}: {what} placed on frame {bad[0]}, but the"
                f" {self.data_type} has {count} frame(s) (0..{count - 1})"
                " - use a frame inside the data unit"
            )

    def _check_placement(self, inst: ObjectInstance, coordinates: Any, frames: list[int]) -> None:
        if inst.is_range_based:
            return
        self._check_frames(frames, f"object {inst.object_hash!r}")
        if type(coordinates) is not BitmaskCoordinates:
            return
        height = coordinates.height
        for frame in frames:
            size = self._frame_sizes.get(frame) or self._frame_sizes.get(-1)
            if size is not None and (height, coordinates.width) != size:
                raise CoordinatesError(
                    f"row {self.data_title!r} frame {frame}: bitmask is {height}x"
                    f"{coordinates.width} (h x w) but the frame is {size[0]}x{size[1]}"
                    " - encode the mask at the full frame size"
                )

    def _check_annotations(self, inst: ObjectInstance) -> None:
        """Frame range and bitmask size of every annotation (the add_object_instance hot path)."""
        count = 1 if self._metadata.data_type == "image" else self._frame_count()
        for frame, annotation in inst._frames.items():
            if (count is not None and frame >= count) or type(
                annotation.coordinates
            ) is BitmaskCoordinates:
                self._check_placement(inst, annotation.coordinates, [frame])

    def _check_classification_frames(self, inst: ClassificationInstance, frames: list[int]) -> None:
        if self._metadata.data_type not in _RANGE_DATA_TYPES:
            self._check_frames(frames, f"classification {inst.classification_hash!r}")
        wanted = set(frames)
        for other in self._classifications.values():
            if other is inst or other.ontology_item is not inst.ontology_item:
                continue
            if inst._spans is not None or other._spans is not None:
                mine = inst.range_list if inst._spans is not None else []
                hits = [
                    max(a.start, b.start)
                    for a in mine
                    for b in other.range_list
                    if a.start <= b.end and b.start <= a.end
                ]
                clash = set(hits)
            else:
                clash = wanted.intersection(other.get_annotation_frames())
            if clash:
                raise LabelRowError(
                    f"row {self.data_title!r}: classification {inst.classification_name!r}"
                    f" is already on frame {min(clash)} (instance"
                    f" {other.classification_hash!r}) - remove it first or pass force=True"
                )

    # -- instances ---------------------------------------------------------------------------

    def add_object_instance(self, object_instance: ObjectInstance, force: bool = True) -> None:
        # Called once per annotation in bulk imports: attribute reads, no property calls.
        if not self._initialised:
            self._require_initialised("add objects")
        key = object_instance._hash
        parent = object_instance._parent
        if parent is not None and parent is not self:
            raise LabelRowError(f"object {key!r} already belongs to another label row")
        objects = self._objects
        if not force and key in objects and objects[key] is not object_instance:
            raise LabelRowError(f"row {self.data_title!r}: object hash {key!r} is already used")
        if object_instance._frames and not shape_info(object_instance._object.shape)[1]:
            self._check_annotations(object_instance)
        object_instance._parent = self
        objects[key] = object_instance

    def add_classification_instance(
        self, classification_instance: ClassificationInstance, force: bool = False
    ) -> None:
        self._require_initialised("add classifications")
        inst = classification_instance
        if inst._parent is not None and inst._parent is not self:
            raise LabelRowError(
                f"classification {inst.classification_hash!r} belongs to another row"
            )
        frames = inst.get_annotation_frames()
        if force:
            if self._metadata.data_type not in _RANGE_DATA_TYPES:
                self._check_frames(frames, f"classification {inst.classification_hash!r}")
        else:
            self._check_classification_frames(inst, frames)
        inst._parent = self
        self._classifications[inst.classification_hash] = inst

    def remove_object(self, object_instance: ObjectInstance) -> None:
        self._require_initialised("remove objects")
        if self._objects.pop(object_instance.object_hash, None) is not None:
            object_instance._parent = None

    def remove_classification(self, classification_instance: ClassificationInstance) -> None:
        self._require_initialised("remove classifications")
        inst = classification_instance
        if self._classifications.pop(inst.classification_hash, None) is not None:
            inst._parent = None

    def get_object_instances(
        self, filter_ontology_object: Object | None = None, filter_frames: Frames | None = None
    ) -> list[ObjectInstance]:
        self._require_initialised("read objects")
        found: Iterable[ObjectInstance] = self._objects.values()
        if filter_ontology_object is not None:
            fh = filter_ontology_object.feature_node_hash
            found = [o for o in found if o.feature_hash == fh]
        if filter_frames is not None:
            wanted = set(frame_list(filter_frames))
            found = [o for o in found if wanted.intersection(o._frames)]
        return list(found)

    def get_classification_instances(
        self,
        filter_ontology_classification: Classification | None = None,
        filter_frames: Frames | None = None,
    ) -> list[ClassificationInstance]:
        self._require_initialised("read classifications")
        found: Iterable[ClassificationInstance] = self._classifications.values()
        if filter_ontology_classification is not None:
            fh = filter_ontology_classification.feature_node_hash
            found = [c for c in found if c.feature_hash == fh]
        if filter_frames is not None:
            wanted = set(frame_list(filter_frames))
            found = [c for c in found if wanted.intersection(c._frames)]
        return list(found)
