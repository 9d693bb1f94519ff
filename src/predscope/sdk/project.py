"""``Project``: the Encord-shaped project object scripts hold (rows, branches, bundles, imports).

Every method delegates to a service; import/export services load lazily so that a project works
even where an optional service is missing. Argument names and defaults follow Encord's SDK 0.1.211.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predscope.objects.bundle import Bundle
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.sdk.analysis import AnalysisMixin
from predscope.services import projects as project_service
from predscope.services import rows as row_service
from predscope.store.engine import Store
from predscope.store.records import DataUnitRecord, ProjectRecord

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
        self, items: Iterable[str | os.PathLike[str] | dict[str, Any]]
    ) -> list[DataUnitRecord]:
        """Register media: paths are probed (images with Pillow, video and audio with PyAV);
        dicts ``{title, width, height, ...}`` register a unit by size alone; a dict
        ``{title, images: [...]}`` makes an image group. One transaction for all items."""
        return project_service.add_data(self._store, self._record, items)

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
    ) -> Any:
        """Import Encord label-row JSON files (one path or several) in one transaction."""
        from predscope.services.imports.encord import import_encord

        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        return import_encord(
            self._store,
            self._record,
            [Path(p) for p in paths],
            branch_name=branch_name,
            dry_run=dry_run,
        )

    def export_encord(self, branch_name: str = "main") -> list[dict[str, Any]]:
        from predscope.services.exports.encord import export_encord

        return export_encord(self._store, self._record, branch_name=branch_name)

    def import_coco(
        self,
        path: str | os.PathLike[str],
        branch_name: str | None = None,
        *,
        ground_truth: bool = False,
        **kwargs: Any,
    ) -> Any:
        """COCO file (dataset dict or results list) onto ``branch_name``; see the COCO service.

        As on the command line, the branch defaults to ``main`` only for ground truth:
        predictions name their branch, so they never land on ``main`` by accident.
        """
        from predscope.exceptions import InvalidArgumentsError
        from predscope.services.imports.coco import import_coco

        if branch_name is None:
            if not ground_truth:
                raise InvalidArgumentsError(
                    f"import_coco({os.fspath(path)!r}): give branch_name= for predictions "
                    "(e.g. 'model-v2'), or ground_truth=True to import ground truth to 'main'"
                )
            branch_name = "main"
        return import_coco(
            self._store,
            self._record,
            Path(path),
            branch_name=branch_name,
            ground_truth=ground_truth,
            **kwargs,
        )

    def import_coco_labels(
        self,
        labels_dict: dict[str, Any],
        category_id_to_feature_hash: dict[int, str],
        image_id_to_frame_index: dict[int, FrameIndex],
        branch_name: str | None = None,
        confidence_field_name: str | None = None,
    ) -> Any:
        """Encord's ``Project.import_coco_labels``: explicit category and image maps."""
        from predscope.services.imports.coco import import_coco_labels

        return import_coco_labels(
            self._store,
            self._record,
            labels_dict,
            category_id_to_feature_hash,
            image_id_to_frame_index,
            branch_name=branch_name,
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
    ) -> Any:
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
