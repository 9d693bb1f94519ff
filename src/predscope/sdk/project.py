"""``Project``: the Encord-shaped project object scripts hold (rows, branches, bundles, imports).

Every method delegates to a service; import/export services load lazily so that a project works
even where an optional service is missing. Argument names and defaults follow Encord's SDK 0.1.211.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from predscope.objects.bundle import Bundle
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.sdk.analysis import AnalysisMixin
from predscope.services import branches as branch_service
from predscope.services import history as history_service
from predscope.services import projects as project_service
from predscope.services import removal as removal_service
from predscope.services import rows as row_service
from predscope.services.imports.report import ImportReport  # light: the methods' return type
from predscope.store.engine import Store
from predscope.store.records import DataUnitRecord, HistoryRecord, ProjectRecord

if TYPE_CHECKING:
    from predscope.utilities.coco.datastructure import FrameIndex

# Rows per backend call when the caller gives no bundle_size: in practice, all of them.
WHOLE_BUNDLE = 1 << 40


class Project(AnalysisMixin):
    """One project of a store. Get it from ``Client.get_project`` or ``Client.create_project``."""

    def __init__(self, store: Store, record: ProjectRecord) -> None:
        self._store = store
        self._record = record
        self._ontology: OntologyStructure | None = None
        self._backend: row_service.StoreRowBackend | None = None

    # -- properties ----------------------------------------------------------------------------

    @property
    def project_hash(self) -> str:
        return self._record.project_hash

    @property
    def title(self) -> str:
        return self._record.title

    @property
    def description(self) -> str:
        return self._record.description

    @property
    def created_at(self) -> datetime:
        return self._record.created_at

    @property
    def record(self) -> ProjectRecord:
        """The store's record (services take it)."""
        return self._record

    @property
    def store(self) -> Store:
        return self._store

    @property
    def ontology_structure(self) -> OntologyStructure:
        """Parsed once per ``Project``; rows listed from this project share it."""
        if self._ontology is None:
            self._ontology = OntologyStructure.from_dict(self._record.ontology)
        return self._ontology

    def __repr__(self) -> str:
        return f"Project(project_hash={self.project_hash!r}, title={self.title!r})"

    def _row_backend(self) -> row_service.StoreRowBackend:
        if self._backend is None:
            self._backend = row_service.StoreRowBackend(
                self._store, self._record, self.ontology_structure
            )
        return self._backend

    # -- data ----------------------------------------------------------------------------------

    def add_data(
        self,
        items: Iterable[str | os.PathLike[str] | dict[str, Any]],
        *,
        title_from: str = "relative",
    ) -> project_service.AddDataReport:
        """Register media: paths are probed (images with Pillow, video and audio with PyAV);
        folders are walked recursively, their files titled by the path inside the folder
        (``cam1/0001.png``; ``title_from="name"``: the file name); dicts
        ``{title, width, height, ...}`` register a unit by size alone; a dict
        ``{title, images: [...]}`` makes an image group. One transaction for all items.

        Files already registered are skipped; a title another unit has is refused. The report
        iterates over the units added and lists the skipped ones:

        >>> report = project.add_data(["images/"])  # doctest: +SKIP
        >>> len(report), len(report.skipped)  # doctest: +SKIP
        (120, 0)
        """
        return project_service.add_data(self._store, self._record, items, title_from=title_from)

    def remove_data_units(
        self, titles_or_hashes: Sequence[str], *, force: bool = False
    ) -> removal_service.Removal:
        """Remove data units (by data hash or exact title) and their rows on every branch.

        One transaction, recorded in the history; units with ground truth on ``main`` need
        ``force=True``.
        """
        return removal_service.remove_data_units(
            self._store, self._record, list(titles_or_hashes), force=force
        )

    def list_history(self) -> list[HistoryRecord]:
        """What happened to the project (additions, imports, removals, renames), oldest first."""
        return history_service.list_history(self._store, self._record)

    def add_image_group(
        self, title: str, images: Sequence[str | os.PathLike[str] | dict[str, Any]]
    ) -> DataUnitRecord:
        """One data unit whose frames are ``images``, in order."""
        return project_service.add_image_group(self._store, self._record, title, images)

    def list_data_units(self) -> list[DataUnitRecord]:
        return project_service.list_data_units(self._store, self._record)

    # -- label rows ----------------------------------------------------------------------------

    def list_label_rows_v2(
        self,
        data_hashes: Sequence[str] | None = None,
        label_hashes: Sequence[str] | None = None,
        edited_before: str | datetime | None = None,
        edited_after: str | datetime | None = None,
        label_statuses: Sequence[Any] | None = None,
        shadow_data_state: Any | None = None,
        data_title_eq: str | None = None,
        data_title_like: str | None = None,
        workflow_graph_node_title_eq: str | None = None,
        workflow_graph_node_title_like: str | None = None,
        include_workflow_graph_node: bool = True,
        include_client_metadata: bool = False,
        include_images_data: bool = False,
        include_children: bool = False,
        include_all_label_branches: bool = False,
        branch_name: str | None = None,
        resolve_client_metadata_locally: bool = False,
    ) -> list[LabelRowV2]:
        """One row per data unit on ``branch_name`` (default ``main``), or with
        ``include_all_label_branches`` one per existing (data unit, branch).

        Rows with no labels on the branch have ``label_hash`` None; ``initialise_labels`` creates
        them there, which is how a branch comes into being. predscope has no workflows, so the
        workflow filters must stay unset; the ``include_*`` flags are accepted and change nothing.
        """
        from predscope.exceptions import InvalidArgumentsError

        if workflow_graph_node_title_eq is not None or workflow_graph_node_title_like is not None:
            raise InvalidArgumentsError(
                "list_label_rows_v2: predscope projects have no workflow, so "
                "workflow_graph_node_title_eq/_like cannot match anything - leave them unset"
            )
        return row_service.list_label_rows(
            self._store,
            self._record,
            self.ontology_structure,
            backend=self._row_backend(),
            branch_name=branch_name,
            include_all_label_branches=include_all_label_branches,
            data_hashes=data_hashes,
            label_hashes=label_hashes,
            data_title_eq=data_title_eq,
            data_title_like=data_title_like,
            edited_before=edited_before,
            edited_after=edited_after,
            label_statuses=label_statuses,
            shadow_data_state=shadow_data_state,
        )

    def create_bundle(self, bundle_size: int | None = None) -> Bundle:
        """Queue ``initialise_labels``/``save`` calls; ``execute()`` (or leaving a ``with``
        block) runs them.

        By default the whole bundle is one transaction per operation, so one bad row means
        nothing of the bundle is written (Encord's 1,000-row limit is an HTTP limit a local store
        does not have). An explicit ``bundle_size`` splits it into transactions of that many rows.
        """
        return Bundle(bundle_size=WHOLE_BUNDLE if bundle_size is None else bundle_size)

    def list_branches(self) -> list[str]:
        """Branches holding at least one row, ``main`` first."""
        return row_service.list_branches(self._store, self._record)

    def remove_branch(self, name: str, *, force: bool = False) -> branch_service.BranchChange:
        """Remove a branch's rows and import records (one transaction, recorded in the history).

        ``main`` holds the ground truth: it is removed only with ``force=True``.

        >>> project.remove_branch("model-a")  # doctest: +SKIP
        """
        return branch_service.remove_branch(self._store, self._record, name, force=force)

    def rename_branch(
        self, old: str, new: str, *, force: bool = False
    ) -> branch_service.BranchChange:
        """Rename a branch (rows and import records); an existing ``new`` is refused.

        Renaming ``main``, or onto ``main``, needs ``force=True``.
        """
        return branch_service.rename_branch(self._store, self._record, old, new, force=force)

    def copy_labels_to_branch(
        self,
        target_branch: str,
        source_branch: str = "main",
        overwrite: bool = False,
        data_hashes: Sequence[str] | None = None,
        label_hashes: Sequence[str] | None = None,
        batch_size: int = 50,
    ) -> int:
        """Copy rows of ``source_branch`` onto ``target_branch``; returns how many were copied.

        Units that already have a row on the target are skipped unless ``overwrite``.
        ``batch_size`` is accepted for Encord compatibility; the copy is one transaction.
        """
        return row_service.copy_labels_to_branch(
            self._store,
            self._record,
            target_branch,
            source_branch=source_branch,
            overwrite=overwrite,
            data_hashes=data_hashes,
            label_hashes=label_hashes,
        )

    # -- import and export (services load lazily) ------------------------------------------------

    def import_encord(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        branch_name: str | None = None,
        dry_run: bool = False,
        *,
        replace: bool = False,
        append: bool = False,
    ) -> ImportReport:
        """Import Encord label-row JSON files (one path or several) in one transaction.

        The branch is ``branch_name``, else each row's own ``branch_name``, else ``main``. A
        branch that already holds labels needs ``replace=True`` (swap) or ``append=True`` (add;
        a row for a unit already there replaces it).
        """
        from predscope.services.imports.encord import import_encord
        from predscope.services.imports.options import ImportOptions

        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        options = ImportOptions(
            branch=branch_name,
            dry_run=dry_run,
            replace=replace,
            append=append,
            branch_in_rows=True,
        )
        return import_encord(self._store, self._record, [Path(p) for p in paths], options)

    def export_encord(self, branch_name: str = "main") -> list[dict[str, Any]]:
        from predscope.services.exports.encord import export_encord

        return export_encord(self._store, self._record, branch_name=branch_name)

    def import_coco(
        self,
        path: str | os.PathLike[str],
        branch_name: str | None = None,
        *,
        gt_path: str | os.PathLike[str] | None = None,
        score_field: str = "score",
        **options: Any,
    ) -> ImportReport:
        """COCO file (dataset dict or results list) onto ``branch_name``, in one transaction.

        ``options`` are ``ImportOptions`` fields: ``ground_truth``, ``dry_run``, ``replace``,
        ``append``, ``on_unknown_category``, ``on_unknown_image``, ``image_map``,
        ``category_map``. As on the command line, the branch defaults to ``main`` only for
        ground truth, and a branch that already holds labels needs ``replace`` or ``append``.

        >>> report = project.import_coco("preds.json", "model-v2")  # doctest: +SKIP
        >>> report.objects, report.per_class  # doctest: +SKIP
        (10, {'face': 8, 'person': 2})
        """
        from predscope.services.imports.coco import import_coco
        from predscope.services.imports.options import ImportOptions

        return import_coco(
            self._store,
            self._record,
            Path(path),
            ImportOptions(branch=branch_name, **options),
            gt_path=None if gt_path is None else Path(gt_path),
            score_field=score_field,
        )

    def import_yolo(
        self,
        path: str | os.PathLike[str],
        branch_name: str | None = None,
        *,
        class_names: Sequence[str] | str | os.PathLike[str] | None = None,
        class_mode: Literal["index", "name"] = "index",
        score_column: Literal["auto", "none", "last", "second"] = "auto",
        **options: Any,
    ) -> ImportReport:
        """A folder of YOLO ``.txt`` files onto ``branch_name``; ``options`` as ``import_coco``."""
        from predscope.services.imports.options import ImportOptions
        from predscope.services.imports.text import import_yolo

        names = Path(class_names) if isinstance(class_names, os.PathLike) else class_names
        return import_yolo(
            self._store,
            self._record,
            Path(path),
            ImportOptions(branch=branch_name, **options),
            class_names=names,
            class_mode=class_mode,
            score_column=score_column,
        )

    def import_voc(
        self,
        path: str | os.PathLike[str],
        branch_name: str | None = None,
        *,
        one_based: bool = True,
        **options: Any,
    ) -> ImportReport:
        """Pascal VOC XML (file or folder) onto ``branch_name``; ``options`` as ``import_coco``."""
        from predscope.services.imports.options import ImportOptions
        from predscope.services.imports.text import import_voc

        return import_voc(
            self._store,
            self._record,
            Path(path),
            ImportOptions(branch=branch_name, **options),
            one_based=one_based,
        )

    def import_coco_labels(
        self,
        labels_dict: dict[str, Any],
        category_id_to_feature_hash: dict[int, str],
        image_id_to_frame_index: dict[int, FrameIndex],
        branch_name: str | None = None,
        confidence_field_name: str | None = None,
        *,
        replace: bool = False,
        append: bool = False,
    ) -> ImportReport:
        """Encord's ``Project.import_coco_labels``: explicit category and image maps.

        Without a confidence field the dict is ground truth (``branch_name`` defaults to
        ``main``); with one it is predictions, which must name their branch. A branch that
        already holds labels needs ``replace=True`` or ``append=True``.
        """
        from predscope.services.imports.coco import import_coco_labels
        from predscope.services.imports.options import ImportOptions

        ground_truth = confidence_field_name is None and branch_name in (None, "main")
        options = ImportOptions(
            branch=branch_name, ground_truth=ground_truth, replace=replace, append=append
        )
        return import_coco_labels(
            self._store,
            self._record,
            labels_dict,
            category_id_to_feature_hash,
            image_id_to_frame_index,
            options,
            confidence_field_name=confidence_field_name,
        )

    def export_coco_labels(
        self,
        label_hashes: Sequence[str] | None = None,
        include_object_feature_hashes: set[str] | None = None,
        include_classification_feature_hashes: set[str] | None = None,
        branch_name: str | None = None,
        results: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """The branch (default ``main``) as a COCO dataset dict, or a results list.

        Encord's row and feature filters are not supported: export the branch, then filter.
        """
        from predscope.exceptions import InvalidArgumentsError
        from predscope.services.exports.coco import export_coco

        unsupported = {
            "label_hashes": label_hashes,
            "include_object_feature_hashes": include_object_feature_hashes,
            "include_classification_feature_hashes": include_classification_feature_hashes,
        }
        given = [name for name, value in unsupported.items() if value is not None]
        if given:
            raise InvalidArgumentsError(
                f"export_coco_labels: {', '.join(given)} not supported by predscope - export "
                "the whole branch and filter the result"
            )
        return export_coco(
            self._store,
            self._record,
            branch_name=branch_name or "main",
            results=results,
            **kwargs,
        )
