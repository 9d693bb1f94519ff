"""Stored analysis on a ``Project``: analyse a prediction branch, read its metrics and sets.

A mixin so that ``sdk/project.py`` stays about rows and imports; every method delegates to
``services.analysis`` (the CLI and the server call the same functions).

Example:
    >>> run = project.analyse(branch_name="model-a")            # doctest: +SKIP
    >>> project.get_metrics(branch_name="model-a")["stats"]["AP"]  # doctest: +SKIP
    0.504...
"""

from __future__ import annotations

from typing import Any

from predscope.services.progress import Progress
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord


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
        iou_type: str = "bbox",
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
