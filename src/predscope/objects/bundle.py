"""Bundles: queue ``initialise_labels`` and ``save`` on many rows, run each group in one call.

Rows are grouped per backend and per operation, in chunks of ``bundle_size`` (default 1000, the
SDK's limit), so a project of many rows costs one backend call per chunk instead of one per row.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING

from predscope.exceptions import InvalidArgumentsError, LabelRowError

if TYPE_CHECKING:
    from predscope.objects.label_row import LabelRowBackend, LabelRowV2

logger = logging.getLogger(__name__)

DEFAULT_BUNDLE_SIZE = 1000


class Bundle:
    """Mirror of ``encord.http.bundle.Bundle``; reusable after ``execute()``."""

    def __init__(self, bundle_size: int | None = None) -> None:
        size = DEFAULT_BUNDLE_SIZE if bundle_size is None else bundle_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidArgumentsError(
                f"Bundle(bundle_size={bundle_size!r}): needs a positive int (default 1000)"
            )
        self.bundle_size = size
        # operation -> list of rows, in queue order; the backend is looked up at execute time.
        self._queue: dict[str, list[LabelRowV2]] = {"initialise": [], "save": []}
        # id() of each queued row per operation: O(1) duplicate checks. The queue holds the rows,
        # so an id cannot be reused by another object while it is in the set.
        self._queued: dict[str, set[int]] = {"initialise": set(), "save": set()}

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._queue.values())

    def __repr__(self) -> str:
        return (
            f"Bundle(bundle_size={self.bundle_size}, initialise={len(self._queue['initialise'])},"
            f" save={len(self._queue['save'])})"
        )

    def _add(self, operation: str, row: LabelRowV2) -> None:
        if row.backend is None:
            raise LabelRowError(
                f"row {row.data_title!r}: a detached row cannot join a bundle"
                " - get rows from project.list_label_rows_v2()"
            )
        queued = self._queued[operation]
        if id(row) not in queued:
            queued.add(id(row))
            self._queue[operation].append(row)

    def add_initialise(self, row: LabelRowV2, **kwargs: object) -> None:
        """Queue a load; ``kwargs`` are ``initialise_labels`` options, kept on the row."""
        if kwargs:
            row.init_options.update(kwargs)
        self._add("initialise", row)

    def add_save(self, row: LabelRowV2) -> None:
        self._add("save", row)

    def execute(self) -> None:
        """Run initialisations first, then saves; clears the queue even when a call fails."""
        queue, self._queue = self._queue, {"initialise": [], "save": []}
        self._queued = {"initialise": set(), "save": set()}
        for operation in ("initialise", "save"):
            groups: dict[int, tuple[LabelRowBackend, list[LabelRowV2]]] = {}
            for row in queue[operation]:
                backend = row.backend
                if backend is None:
                    continue
                groups.setdefault(id(backend), (backend, []))[1].append(row)
            for backend, rows in groups.values():
                for start in range(0, len(rows), self.bundle_size):
                    chunk = rows[start : start + self.bundle_size]
                    if operation == "initialise":
                        backend.initialise_rows(chunk)
                    else:
                        backend.save_rows(chunk)

    def __enter__(self) -> Bundle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.execute()
            return
        dropped = len(self)
        self._queue = {"initialise": [], "save": []}
        self._queued = {"initialise": set(), "save": set()}
        logger.warning(
            "bundle: %d queued operation(s) dropped because of %s", dropped, exc_type.__name__
        )
