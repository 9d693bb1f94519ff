"""The far side of a sync: a project on an Encord-compatible server, read through the real
``encord`` SDK (imported only here, and only when a sync runs).

Only reads: rows without a label hash are never initialised (the SDK would create them on the
server), and nothing is saved back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from predscope.exceptions import InvalidArgumentsError, MissingDependencyError, SyncSourceError

ENCORD_DOMAIN = "https://api.encord.com"
FETCH_CHUNK = 100  # rows per bundled request: the SDK's own default bundle size


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One (data unit, branch) as the source lists it, without labels."""

    branch_name: str
    data_hash: str
    data_title: str
    data_type: str  # lower case, as predscope and the label format spell it
    label_hash: str | None  # None: the branch has no row for this unit at the source
    edited: str  # the source's last edit time (ISO 8601), "" when it gives none
    data_link: str | None
    mime_type: str | None
    width: int | None
    height: int | None
    number_of_frames: int | None
    frames_per_second: float | None
    duration: float | None
    images: tuple[dict[str, Any], ...] = ()  # an image group's images: image_hash, title, ...

    @property
    def key(self) -> tuple[str, str]:
        return (self.branch_name, self.data_hash)


def _sdk() -> Any:
    try:
        import encord.exceptions
        from encord import EncordUserClient
    except ImportError:
        raise MissingDependencyError(
            "sync encord: the encord SDK is not installed - run `pip install 'predscope[encord]'`"
        ) from None
    return EncordUserClient, encord.exceptions.EncordException


@contextmanager
def _asking(domain: str, what: str) -> Iterator[None]:
    """SDK and network failures as one error that names the server and the request."""
    import requests

    _, encord_error = _sdk()
    try:
        yield
    except encord_error as exc:
        text = str(getattr(exc, "message", "") or exc) or type(exc).__name__
        raise SyncSourceError(
            f"{domain}: {what} failed: {text} ({type(exc).__name__}) - check the key, that it "
            "was granted the project, and the project hash"
        ) from None
    except requests.RequestException as exc:
        raise SyncSourceError(
            f"{domain}: {what}: cannot reach the server ({type(exc).__name__}: {exc}) - check "
            "--domain and the network"
        ) from None


def _edited(value: datetime | None) -> str:
    return value.isoformat() if isinstance(value, datetime) else ""


def _images(row: Any, kind: str) -> tuple[dict[str, Any], ...]:
    if kind != "img_group":
        return ()
    from encord.exceptions import LabelRowError

    try:
        frames = row.get_frames_metadata()
    except LabelRowError:  # the server sent no images_data (older servers)
        return ()
    return tuple(
        {
            "image_hash": f.image_hash,
            "title": f.title,
            "file_type": f.file_type,
            "width": f.width,
            "height": f.height,
        }
        for f in sorted(frames, key=lambda f: f.frame_number)
    )


def _listed(row: Any) -> SourceRow:
    kind = str(getattr(row.data_type, "value", row.data_type)).lower()
    return SourceRow(
        branch_name=str(row.branch_name or "main"),
        data_hash=str(row.data_hash),
        data_title=str(row.data_title or ""),
        data_type=kind,
        label_hash=str(row.label_hash) if row.label_hash else None,
        edited=_edited(row.last_edited_at),
        data_link=row.data_link,
        mime_type=row.file_type,
        width=row.width,
        height=row.height,
        number_of_frames=row.number_of_frames,
        frames_per_second=row.fps,
        duration=row.duration,
        images=_images(row, kind),
    )


class EncordSource:
    """One project on an Encord-compatible server, opened with an Ed25519 private key."""

    def __init__(self, private_key: str, project_hash: str, domain: str = ENCORD_DOMAIN) -> None:
        client_class, _ = _sdk()
        self.domain = domain.rstrip("/")
        self.project_hash = project_hash
        with _asking(self.domain, "signing in with the key"):
            try:
                self._client = client_class.create_with_ssh_private_key(
                    private_key, domain=self.domain
                )
            except (ValueError, TypeError) as exc:
                raise InvalidArgumentsError(
                    f"sync encord: the key is not an unencrypted OpenSSH Ed25519 private key "
                    f"({exc}) - pass the private key file whose .pub is registered at the source"
                ) from None
        with _asking(self.domain, f"opening project {project_hash}"):
            self._project = self._client.get_project(project_hash)
            self.title = str(self._project.title)
            self.description = str(self._project.description or "")
        self._rows: dict[tuple[str, str], Any] = {}

    def ontology(self) -> dict[str, Any]:
        """The project's ontology as the server sent it (the project's ``editorOntology``), else
        as the SDK re-writes it (which adds its defaults, such as ``required: false``)."""
        instance = getattr(self._project, "_project_instance", None)
        raw = getattr(instance, "editor_ontology", None)
        if isinstance(raw, dict) and "objects" in raw:
            return dict(raw)
        with _asking(self.domain, f"reading the ontology of project {self.project_hash}"):
            return dict(self._project.ontology_structure.to_dict())

    def list_rows(self) -> list[SourceRow]:
        """Every (data unit, branch) the source holds, ``main`` placeholders included."""
        with _asking(self.domain, f"listing the label rows of project {self.project_hash}"):
            rows = self._project.list_label_rows_v2(
                include_all_label_branches=True, include_images_data=True
            )
        listed = []
        for row in rows:
            item = _listed(row)
            self._rows[item.key] = row
            listed.append(item)
        return listed

    def fetch(
        self, rows: Sequence[SourceRow], advance: Callable[[int], None] = lambda n: None
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """The label-row documents of ``rows`` (each with a label hash), in bundled requests."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(rows), FETCH_CHUNK):
            part = [self._rows[r.key] for r in rows[start : start + FETCH_CHUNK]]
            with _asking(self.domain, f"reading {len(part)} label rows"):
                with self._project.create_bundle() as bundle:
                    for sdk_row in part:
                        sdk_row.initialise_labels(bundle=bundle)
                for sdk_row, item in zip(part, rows[start : start + FETCH_CHUNK], strict=True):
                    out[item.key] = dict(sdk_row.to_encord_dict())
            advance(len(part))
        return out
