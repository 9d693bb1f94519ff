"""The FastAPI router Encord's SDK talks to: ``POST /public`` and ``/v2/public/...``.

Both must sit at the root of host:port (the SDK builds v2 URLs with ``urljoin``, dropping any
path prefix). Bodies are read raw and size-capped before anything else, because the v1 signature
covers the exact bytes sent; the work itself runs in a worker thread (the store is synchronous).

Mount with ``app.include_router(encord_router(api))``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from predscope.server.encord.errors import EncordApiError, legacy_body, v2_status_and_body
from predscope.server.encord.handlers import Caller, EncordApi
from predscope.server.encord.media_links import MEDIA_PREFIX
from predscope.server.encord.signing import Scheme

# A bundle of 1,000 video rows with dense labels is tens of MiB; leave ample room.
DEFAULT_MAX_BODY = 256 * 1024 * 1024
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class _TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _target(request: Request) -> str:
    """The path and query exactly as the client sent them (what v2 signatures cover)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    target = raw.decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


def _too_large(limit: int) -> JSONResponse:
    message = (
        f"request body over this server's limit of {limit} bytes - save fewer rows per bundle "
        "(project.create_bundle(bundle_size=...)) or raise the server's limit"
    )
    return JSONResponse({"message": message}, status_code=413)


def encord_router(api: EncordApi, *, max_body: int = DEFAULT_MAX_BODY) -> APIRouter:
    """The Encord-compatible endpoints over ``api``'s store."""
    router = APIRouter()

    async def authenticated(request: Request, scheme: Scheme, body: bytes) -> Caller:
        headers = dict(request.headers.items())
        caller = await run_in_threadpool(
            api.caller, scheme, request.method, _target(request), headers, body
        )
        return dataclasses.replace(caller, base_url=str(request.base_url).rstrip("/"))

    @router.get(MEDIA_PREFIX + "/{project_hash}/{data_hash}", include_in_schema=False)
    async def media(request: Request, project_hash: str, data_hash: str) -> Response:
        """A signed media link (``media_links``): the link itself is the credential."""
        q = request.query_params
        try:
            frame_text = q.get("frame")
            frame = int(frame_text) if frame_text is not None else None
            found = await run_in_threadpool(
                api.media, project_hash, data_hash, frame, q.get("expires", ""),
                q.get("signature", ""),
            )  # fmt: skip
        except ValueError:
            return JSONResponse({"message": "frame must be a whole number"}, status_code=400)
        except Exception as exc:
            status, content = v2_status_and_body(exc)
            return JSONResponse(content, status_code=status)
        return FileResponse(
            found.path, media_type=found.mime_type, headers={"Cache-Control": "private"}
        )

    @router.post("/public", include_in_schema=False)
    async def legacy_rpc(request: Request) -> Response:
        try:
            body = await _body(request, max_body)
        except _TooLarge:
            return _too_large(max_body)
        try:
            caller = await authenticated(request, "v1", body)
            envelope = json.loads(body or b"{}")
            if not isinstance(envelope, dict):
                raise EncordApiError(
                    "INVALID_ARGUMENTS_ERROR", 400, "the body must be a JSON object"
                )
            resource = request.headers.get("ResourceID", "")
            result = await run_in_threadpool(api.rpc, caller, resource, envelope)
        except json.JSONDecodeError as exc:
            error = EncordApiError("INVALID_ARGUMENTS_ERROR", 400, f"malformed JSON body: {exc}")
            return JSONResponse(legacy_body(error))
        except Exception as exc:  # every error travels as HTTP 200 in this protocol
            return JSONResponse(legacy_body(exc))
        return JSONResponse({"status": 200, "response": result})

    def v2(
        handler: Callable[[Caller, dict[str, str], Any, Request], Any],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                body = await _body(request, max_body)
            except _TooLarge:
                return _too_large(max_body)
            try:
                caller = await authenticated(request, "v2", body)
                parsed = json.loads(body) if body else None
                result = await run_in_threadpool(
                    handler, caller, dict(request.path_params), parsed, request
                )
            except json.JSONDecodeError as exc:
                return JSONResponse({"message": f"malformed JSON body: {exc}"}, status_code=400)
            except Exception as exc:
                status, content = v2_status_and_body(exc)
                return JSONResponse(content, status_code=status)
            return JSONResponse(result)

        return endpoint

    def project(caller: Caller, params: dict[str, str], body: Any, request: Request) -> Any:
        return api.get_project(caller, params["project_hash"])

    def ontology(caller: Caller, params: dict[str, str], body: Any, request: Request) -> Any:
        return api.get_ontology(caller, params["ontology_hash"])

    def branches(caller: Caller, params: dict[str, str], body: Any, request: Request) -> Any:
        names = api.branches(caller, params["project_hash"])
        return page(names, request)

    def copy_branch(caller: Caller, params: dict[str, str], body: Any, request: Request) -> Any:
        copied = api.copy_branch(caller, params["project_hash"], body or {})
        return {"copiedCount": copied}

    router.add_api_route("/v2/public/projects/{project_hash}", v2(project), methods=["GET"],
                         include_in_schema=False)  # fmt: skip
    router.add_api_route("/v2/public/ontologies/{ontology_hash}", v2(ontology), methods=["GET"],
                         include_in_schema=False)  # fmt: skip
    router.add_api_route("/v2/public/projects/{project_hash}/branches", v2(branches),
                         methods=["GET"], include_in_schema=False)  # fmt: skip
    router.add_api_route("/v2/public/projects/{project_hash}/labels/copy-branch",
                         v2(copy_branch), methods=["POST"], include_in_schema=False)  # fmt: skip
    return router


def page(names: list[str], request: Request) -> dict[str, Any]:
    """``{results, nextPageToken}`` paging; the token is the offset of the next page."""
    from predscope.exceptions import InvalidArgumentsError

    token = request.query_params.get("pageToken") or request.query_params.get("page_token")
    limit_text = request.query_params.get("limit")
    try:
        start = int(token) if token else 0
        limit = int(limit_text) if limit_text else DEFAULT_PAGE_SIZE
    except ValueError:
        raise InvalidArgumentsError(
            f"pageToken {token!r} / limit {limit_text!r}: pass back the nextPageToken you were "
            "given and an integer limit"
        ) from None
    if start < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidArgumentsError(f"limit must be 1..{MAX_PAGE_SIZE} and pageToken >= 0")
    chunk = names[start : start + limit]
    following = start + limit
    return {
        "results": [{"name": n} for n in chunk],
        "nextPageToken": str(following) if following < len(names) else None,
    }
