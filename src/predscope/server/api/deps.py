"""What routes share: the app's store, settings and job runner, and paging parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from predscope.exceptions import ResourceNotFoundError
from predscope.server.jobs import JobRunner
from predscope.server.media import ThumbnailCache
from predscope.server.settings import Settings
from predscope.services.projects import get_project
from predscope.store.data_units import list_data_units as store_units
from predscope.store.engine import Store
from predscope.store.records import DataUnitRecord, ProjectRecord

MAX_PAGE = 1000


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


def get_thumbnails(request: Request) -> ThumbnailCache:
    cache: ThumbnailCache = request.app.state.thumbnails
    return cache


StoreDep = Annotated[Store, Depends(get_store)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
ThumbnailsDep = Annotated[ThumbnailCache, Depends(get_thumbnails)]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]


def project_of(store: Store, project: str) -> ProjectRecord:
    """The project named in the path, by hash or title (404 when unknown)."""
    return get_project(store, project)


def unit_of(store: Store, project: ProjectRecord, data_hash: str) -> DataUnitRecord:
    with store.read() as conn:
        units = store_units(conn, project.id, data_hashes=[data_hash])
    if not units:
        raise ResourceNotFoundError(f"project {project.title!r} has no data unit {data_hash!r}")
    return units[0]


def page(items: list[Any], total: int, offset: int, limit: int) -> dict[str, Any]:
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def project_dict(project: ProjectRecord) -> dict[str, Any]:
    return {
        "project_hash": project.project_hash,
        "title": project.title,
        "description": project.description,
        "created_at": project.created_at,
        "last_edited_at": project.last_edited_at,
        "url": f"/api/projects/{project.project_hash}",
    }


def unit_dict(unit: DataUnitRecord) -> dict[str, Any]:
    """Every field of the record (the Python API's ``DataUnitRecord``) but the store's row ids."""
    media = f"/api/data-units/{unit.data_hash}"
    return {
        "data_hash": unit.data_hash,
        "data_title": unit.data_title,
        "data_type": unit.data_type,
        "data_link": unit.data_link,
        "mime_type": unit.mime_type,
        "width": unit.width,
        "height": unit.height,
        "number_of_frames": unit.number_of_frames,
        "frames_per_second": unit.frames_per_second,
        "duration": unit.duration,
        "audio_sample_rate": unit.audio_sample_rate,
        "audio_codec": unit.audio_codec,
        "audio_bit_depth": unit.audio_bit_depth,
        "audio_num_channels": unit.audio_num_channels,
        "extra": unit.extra,
        "created_at": unit.created_at,
        "images": [
            {
                "image_hash": i.image_hash,
                "frame": i.frame,
                "title": i.title,
                "width": i.width,
                "height": i.height,
                "data_link": i.data_link,
                "mime_type": i.mime_type,
            }
            for i in unit.images
        ],
        "media_url": f"{media}/media",
        "thumbnail_url": f"{media}/thumbnail",
    }
