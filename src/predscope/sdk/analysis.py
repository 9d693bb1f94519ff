"""Stored analysis on a ``Project``: analyse a prediction branch, read its metrics and sets.

A mixin so that ``sdk/project.py`` stays about rows and imports; every method delegates to
``services.analysis`` (the CLI and the server call the same functions).

Example:
    >>> run = project.analyse(branch_name="model-a")            # doctest: +SKIP
    >>> project.get_metrics(branch_name="model-a")["stats"]["AP"]  # doctest: +SKIP
    0.504...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from predscope.services.progress import Progress
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

if TYPE_CHECKING:
    from predscope.services.query import Page


class AnalysisMixin:
    """Analysis methods of ``Project`` (needs ``_store`` and ``_record``)."""

    _store: Store
    _record: ProjectRecord

    def analyse(
        self,
        branch_name: str,
        against: str = "main",
        full: bool = False,
        *,
        iou_type: str = "auto",
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Analyse ``branch_name`` against ``against`` and store the run; returns its metrics.

        Only label rows changed since the last complete run are re-matched unless ``full``.
        """
        from predscope.services.analysis.metrics import get_metrics
        from predscope.services.analysis.runs import analyse

        analyse(
            self._store,
            self._record,
            branch_name,
            against=against,
            full=full,
            iou_type=iou_type,
            progress=progress,
        )
        return get_metrics(self._store, self._record, branch_name, against=against)

    def get_metrics(self, branch_name: str, against: str = "main") -> dict[str, Any]:
        """The latest complete run's metrics document (``predscope metrics --json``)."""
        from predscope.services.analysis.metrics import get_metrics

        return get_metrics(self._store, self._record, branch_name, against=against)

    def list_prediction_sets(self) -> list[dict[str, Any]]:
        """Analysed branches with headline metrics, freshness and review status."""
        from predscope.services.analysis.metrics import list_prediction_sets

        return list_prediction_sets(self._store, self._record)

    def set_prediction_set_review(
        self,
        branch_name: str,
        status: str | None = None,
        notes: str | None = None,
        against: str = "main",
    ) -> dict[str, Any]:
        """Set the review status (needs_review / in_review / reviewed) and/or notes of a set."""
        from predscope.services.analysis.metrics import set_review

        return set_review(
            self._store, self._record, branch_name, against=against, status=status, notes=notes
        )

    def query_objects(
        self,
        branch_name: str,
        *,
        kind: str = "prediction",
        outcome: str | Sequence[str] | None = None,
        iou_threshold: float = 0.5,
        object_names: str | Sequence[str] | None = None,
        error_type: str | Sequence[str] | None = None,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        min_iou: float | None = None,
        max_iou: float | None = None,
        properties: Mapping[str, Sequence[float | None]] | None = None,
        attributes: Mapping[str, str | Sequence[str]] | None = None,
        data_hash: str | None = None,
        order_by: str = "-confidence",
        offset: int = 0,
        limit: int = 50,
        against: str = "main",
    ) -> Page:
        """Stored objects of the latest analysis, filtered and sorted (``.items``, ``.total``).

        >>> page = project.query_objects("model-a", outcome="FP", iou_threshold=0.75,
        ...     object_names=["person"], min_confidence=0.7, order_by="-area_px")  # doctest: +SKIP
        """
        from predscope.services.query import query_objects

        return query_objects(
            self._store,
            self._record,
            branch_name,
            kind=kind,
            outcome=outcome,
            iou_threshold=iou_threshold,
            object_names=object_names,
            error_type=error_type,
            min_confidence=min_confidence,
            max_confidence=max_confidence,
            min_iou=min_iou,
            max_iou=max_iou,
            properties=properties,
            attributes=attributes,
            data_hash=data_hash,
            order_by=order_by,
            offset=offset,
            limit=limit,
            against=against,
        )

    def query_data_units(self, branch_name: str, **filters: Any) -> Page:
        """Per-image TP / FP / FN (see ``services.query.query_data_units`` for the filters)."""
        from predscope.services.query import query_data_units

        return query_data_units(self._store, self._record, branch_name, **filters)

    def compare_prediction_sets(
        self,
        a: str,
        b: str,
        *,
        against: str = "main",
        iou_threshold: float = 0.5,
        n_resamples: int = 1000,
        seed: int = 0,
        offset: int = 0,
        limit: int = 100,
    ) -> dict[str, Any]:
        """Deltas A - B, a bootstrap interval for the mAP difference, changed GT outcomes
        (``limit`` examples each from ``offset``)."""
        from predscope.services.analysis.compare import compare_prediction_sets

        return compare_prediction_sets(
            self._store,
            self._record,
            a,
            b,
            against=against,
            iou_threshold=iou_threshold,
            n_resamples=n_resamples,
            seed=seed,
            offset=offset,
            limit=limit,
        )
