"""``Client``: the entry point of the Python API, standing where ``EncordUserClient`` stands.

A ported script changes its client line to ``predscope.Client(location)`` and keeps the rest:
``get_project`` and friends answer as Encord's do, backed by a local store instead of a server.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

from predscope.objects.ontology_structure import OntologyStructure
from predscope.sdk.project import Project
from predscope.services import projects as project_service
from predscope.services.progress import Progress
from predscope.services.removal import Removal, remove_project
from predscope.store.engine import Store, open_store


class Client:
    """A store opened at ``location``: a folder (embedded SQLite inside it) or a SQLAlchemy URL.

    ``None`` means ``$PREDSCOPE_HOME``, else ``~/.predscope``. Use as a context manager, or call
    ``close()``, to release the database connections.
    """

    def __init__(
        self, location: str | os.PathLike[str] | None = None, *, busy_timeout: float = 30.0
    ) -> None:
        self._store: Store | None = open_store(location, busy_timeout=busy_timeout)

    @property
    def store(self) -> Store:
        if self._store is None:
            from predscope.exceptions import StoreError

            raise StoreError("Client: the client is closed - open a new predscope.Client(...)")
        return self._store

    @property
    def location(self) -> str:
        """The store's URL with any password hidden."""
        return self.store.location

    def create_project(
        self,
        title: str,
        ontology: OntologyStructure | dict[str, Any] | str | os.PathLike[str],
        description: str = "",
    ) -> Project:
        """A new project; ``ontology`` is Encord ontology JSON (dict or file) or a structure."""
        record = project_service.create_project(self.store, title, ontology, description)
        return Project(self.store, record)

    def create_project_from_coco(
        self,
        title: str,
        instances: str | os.PathLike[str],
        *,
        images: str | os.PathLike[str] | None = None,
        description: str = "",
        shape: str = "auto",
        progress: Progress | None = None,
    ) -> Project:
        """A project built from a COCO dataset file, its annotations on ``main`` (one transaction).

        >>> project = client.create_project_from_coco(
        ...     "coco", "instances_val2017.json", images="val2017/")  # doctest: +SKIP
        >>> project.import_coco("results.json", branch="model-a")  # doctest: +SKIP
        """
        from predscope.services.imports.onboard import create_project_from_coco

        report = create_project_from_coco(
            self.store,
            title,
            instances,
            images=images,
            description=description,
            shape=shape,
            progress=progress,
        )
        return Project(self.store, report.project)

    def get_project(self, project_hash: str) -> Project:
        """By project hash or, failing that, by title (``ResourceNotFoundError`` otherwise)."""
        return Project(self.store, project_service.get_project(self.store, str(project_hash)))

    def list_projects(self) -> list[Project]:
        return [Project(self.store, r) for r in project_service.list_projects(self.store)]

    def remove_project(self, project_hash: str, *, force: bool = False) -> Removal:
        """Remove a project (by hash or title) with its data units, rows and imports.

        One transaction; the history keeps the removal. A project with ground truth on ``main``
        is removed only with ``force=True``.

        >>> client.remove_project("old-experiment")  # doctest: +SKIP
        """
        return remove_project(self.store, str(project_hash), force=force)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self._store.location if self._store is not None else "closed"
        return f"Client({where!r})"
