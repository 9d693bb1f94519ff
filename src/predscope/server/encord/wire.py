"""The JSON shapes Encord's SDK parses, built from predscope's records.

Facts the SDK depends on (see the Encord format reference, sections 6.4-6.6): project and
ontology hashes must parse as UUIDs; the metadata listing uses snake_case keys and an UPPER-case
``data_type``; the v2 REST answers use camelCase. predscope projects have no ontology or dataset
object of their own, so both get stable UUIDs derived from the project hash.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from predscope.store.records import DataUnitRecord, ProjectRecord, RowRecord

_NAMESPACE = uuid.UUID("5b0c7a3e-3f7e-4b8e-9a51-0c2f3e1d7a64")  # predscope's, fixed forever
# Encord lists these statuses; predscope projects are always being worked on.
PROJECT_STATUS = "inProgress"
PROJECT_TYPE = "manual_qa"


def ontology_hash(project: ProjectRecord) -> str:
    """The UUID the SDK fetches a project's ontology by (one ontology per project here)."""
    return str(uuid.uuid5(_NAMESPACE, f"ontology:{project.project_hash}"))


def dataset_hash(project: ProjectRecord) -> str:
    """A project's data units form one dataset, named after the project."""
    return str(uuid.uuid5(_NAMESPACE, f"dataset:{project.project_hash}"))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _legacy_time(value: datetime | None) -> str | None:
    """Row-level times as Encord's server writes them: ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def project_dto(project: ProjectRecord, creator_email: str) -> dict[str, Any]:
    """``GET /v2/public/projects/{hash}``; no ``workflow`` key, so the SDK asks for none."""
    return {
        "projectHash": project.project_hash,
        "projectType": PROJECT_TYPE,
        "status": PROJECT_STATUS,
        "title": project.title,
        "description": project.description,
        "createdAt": _iso(project.created_at),
        "creatorEmail": creator_email,
        "lastEditedAt": _iso(project.last_edited_at),
        "ontologyHash": ontology_hash(project),
        "editorOntology": project.ontology,
        "userRole": 0,
    }


def ontology_dto(project: ProjectRecord) -> dict[str, Any]:
    """``GET /v2/public/ontologies/{hash}``."""
    return {
        "ontologyUuid": ontology_hash(project),
        "title": project.title,
        "description": project.description,
        "editor": project.ontology,
        "createdAt": _iso(project.created_at),
        "lastEditedAt": _iso(project.last_edited_at),
        "userRole": None,
    }


def legacy_ontology(project: ProjectRecord) -> dict[str, Any]:
    """The legacy ``ontology`` RPC that SDKs before 0.1.153 call instead of the REST one."""
    return {
        "ontology_hash": ontology_hash(project),
        "title": project.title,
        "description": project.description,
        "editor": project.ontology,
        "created_at": _legacy_time(project.created_at),
        "last_edited_at": _legacy_time(project.last_edited_at),
    }


def _frames(record: RowRecord) -> int:
    unit = record.unit
    if unit.data_type == "img_group":
        return len(unit.images) or int(unit.number_of_frames or 0)
    if unit.data_type == "image":
        return 1
    return int(unit.number_of_frames or 0)


def metadata_row(
    project: ProjectRecord,
    record: RowRecord,
    *,
    images_data: bool = False,
    data_link: str | None = None,
) -> dict[str, Any]:
    """One entry of the ``labelrowmetadata`` listing (a placeholder has ``label_hash`` null);
    ``images_data`` adds an image group's images (``include_images_data``), as the SDK reads
    them for ``get_frames_metadata``."""
    unit = record.unit
    out: dict[str, Any] = {
        "label_hash": record.label_hash,
        "created_at": _legacy_time(record.created_at),
        "last_edited_at": _legacy_time(record.last_edited_at),
        "branch_name": record.branch_name,
        "data_hash": unit.data_hash,
        "dataset_hash": dataset_hash(project),
        "dataset_title": project.title,
        "data_title": unit.data_title,
        "data_type": unit.data_type.upper(),
        "data_link": data_link,
        "label_status": record.label_status,
        "annotation_task_status": None,
        "workflow_graph_node": None,
        "is_shadow_data": False,
        "number_of_frames": _frames(record),
        "duration": unit.duration,
        "frames_per_second": unit.frames_per_second,
        "width": unit.width,
        "height": unit.height,
        "file_type": unit.mime_type,
        "is_valid": True,
        "spaces": {},
    }
    if images_data and unit.data_type == "img_group":
        out["images_data"] = [
            {
                "index": frame,
                "title": image.title,
                "file_type": image.mime_type or "",
                "height": image.height,
                "width": image.width,
                "image_hash": image.image_hash,
            }
            for frame, image in enumerate(unit.images)
        ]
    if unit.data_type == "audio":
        out.update(
            audio_codec=unit.audio_codec,
            audio_sample_rate=unit.audio_sample_rate,
            audio_bit_depth=unit.audio_bit_depth,
            audio_num_channels=unit.audio_num_channels,
        )
    return out


def fill_created_by(document: dict[str, Any], email: str) -> None:
    """Encord's server names the caller as the author of labels the SDK sends without one
    (the SDK always sends ``createdBy: null``)."""

    def fill(entry: Any) -> None:
        if isinstance(entry, dict) and entry.get("createdBy") is None:
            entry["createdBy"] = email

    for unit in (document.get("data_units") or {}).values():
        labels = unit.get("labels") if isinstance(unit, dict) else None
        if not isinstance(labels, dict):
            continue
        frames = [labels] if "objects" in labels or "classifications" in labels else labels.values()
        for frame in frames:
            if isinstance(frame, dict):
                for entry in (frame.get("objects") or []) + (frame.get("classifications") or []):
                    fill(entry)
    for entry in (document.get("object_answers") or {}).values():
        if isinstance(entry, dict) and "featureHash" in entry:  # range-based objects live here
            fill(entry)
    for entry in (document.get("classification_answers") or {}).values():
        if isinstance(entry, dict) and "range" in entry:
            fill(entry)


_FALLBACK_MIME = {"image": "image/jpeg", "img_group": "image/jpeg", "video": "video/mp4",
                  "audio": "audio/mpeg"}  # fmt: skip


def complete_units(document: dict[str, Any]) -> dict[str, Any]:
    """The SDK reads every data unit's ``data_type`` (its MIME type) and ``data_link`` keys;
    units registered by title and size alone have neither, so the link is null and the type is
    named from the title, else from the row's data type."""
    kind = str(document.get("data_type") or "")
    for unit in (document.get("data_units") or {}).values():
        if not isinstance(unit, dict):
            continue
        unit.setdefault("data_link", None)
        if not unit.get("data_type"):
            guessed = mimetypes.guess_type(str(unit.get("data_title") or ""))[0]
            unit["data_type"] = guessed or _FALLBACK_MIME.get(kind, "application/octet-stream")
    return document


def relink(
    document: dict[str, Any],
    unit: DataUnitRecord,
    link: Callable[[DataUnitRecord, int | None], str | None],
) -> dict[str, Any]:
    """The row's media links as the caller may use them (``media_links``): an image group's
    entries are keyed by image hash, each its own frame."""
    frames = {image.image_hash: k for k, image in enumerate(unit.images)}
    for key, entry in (document.get("data_units") or {}).items():
        if isinstance(entry, dict) and "data_link" in entry:
            frame = frames.get(key) if unit.data_type == "img_group" else None
            if unit.data_type == "img_group" and frame is None:
                entry["data_link"] = None
                continue
            entry["data_link"] = link(unit, frame)
    return document
