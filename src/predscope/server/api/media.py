"""Media and thumbnails, by data-unit id only (see ``server/media.py`` for the rules)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from predscope.server.api.deps import StoreDep, ThumbnailsDep, project_of, unit_of
from predscope.server.media import find_unit, media_file
from predscope.store.records import DataUnitRecord

router = APIRouter(tags=["media"])

Frame = Annotated[int | None, Query(ge=0, description="Image-group image or video frame, from 0.")]
Size = Annotated[int, Query(ge=16, le=1024, description="Longest side, in pixels.")]


def _serve(unit: DataUnitRecord, frame: int | None) -> FileResponse:
    media = media_file(unit, frame if unit.data_type == "img_group" else None)
    return FileResponse(
        media.path,
        media_type=media.mime_type,
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/data-units/{data_hash}/media", summary="The unit's media file (image-group frame)")
def unit_media(store: StoreDep, data_hash: str, frame: Frame = None) -> FileResponse:
    return _serve(find_unit(store, data_hash), frame)


@router.get(
    "/projects/{project}/data-units/{data_hash}/media",
    summary="The same, for a data hash held by several projects",
)
def project_unit_media(
    store: StoreDep, project: str, data_hash: str, frame: Frame = None
) -> FileResponse:
    return _serve(unit_of(store, project_of(store, project), data_hash), frame)


@router.get(
    "/data-units/{data_hash}/thumbnail",
    summary="A JPEG thumbnail of the unit (image-group image or video frame), cached",
    response_class=Response,
)
def unit_thumbnail(
    request: Request,
    store: StoreDep,
    thumbnails: ThumbnailsDep,
    data_hash: str,
    frame: Frame = None,
    size: Size = 256,
) -> Response:
    media = media_file(find_unit(store, data_hash), frame)
    data, etag = thumbnails.get(media, size)
    headers = {"ETag": etag, "Cache-Control": "private, max-age=3600"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)
