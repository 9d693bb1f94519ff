"""Errors as JSON, ``{"error": {"code", "message"}}`` (an HTML page for the web pages), and
THE mapping from predscope's exceptions to HTTP statuses. Routes raise ``PredscopeError``
subclasses and never pick a status themselves.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

import predscope.exceptions as exc
from predscope.ui.render import CONTENT_SECURITY_POLICY, render_error

log = logging.getLogger("predscope.server")

# Most specific first: the first class in an exception's MRO found here decides its status.
STATUS: dict[type[exc.PredscopeError], int] = {
    exc.AuthenticationError: 401,
    exc.ResourceNotFoundError: 404,
    exc.ResourceExistsError: 409,
    exc.DuplicateImportError: 409,
    exc.LabelRowError: 409,
    exc.LabelRowConflictError: 409,  # a save over a newer version of the row
    exc.SyncConflictError: 409,
    exc.SyncSourceError: 502,
    exc.MissingDependencyError: 501,
    exc.RequestTooLargeError: 413,
    exc.ImportFormatError: 422,
    exc.InvalidArgumentsError: 422,
    exc.BranchNameError: 422,
    exc.CoordinatesError: 422,
    exc.FrameError: 422,
    exc.AnswerError: 422,
    exc.OntologyError: 422,
    exc.EvaluationError: 422,
    exc.MediaError: 422,
    exc.StoreBusyError: 503,
    exc.SchemaVersionError: 500,
    exc.StoreError: 503,
    exc.ServerConfigError: 500,
    exc.PredscopeError: 400,
}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}


def status_for(error: exc.PredscopeError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(error: exc.PredscopeError) -> JSONResponse:
    status = status_for(error)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = "5"
    return JSONResponse(error_body(error.code, str(error)), status_code=status, headers=headers)


def _where(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """("query", "limit") from FastAPI's location tuple; the body has no single name."""
    parts = [str(p) for p in loc]
    source = parts[0] if parts else "request"
    name = ".".join(parts[1:]) if len(parts) > 1 else source
    return source, name


def _validation(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        source, name = _where(item.get("loc", ()))
        problems.append({"in": source, "parameter": name, "problem": item.get("msg", "")})
    first = problems[0] if problems else {"in": "request", "parameter": "", "problem": "invalid"}
    message = f"{first['in']} parameter {first['parameter']!r}: {first['problem']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more)"
    if is_page(request):
        return page_error(422, exc.InvalidArgumentsError.code, message)
    body = error_body(
        exc.InvalidArgumentsError.code,
        message,
        parameter=first["parameter"],
        problems=problems,
    )
    return JSONResponse(body, status_code=422)


def is_page_path(path: str) -> bool:
    """A web page (not the JSON API, not the SDK's endpoints)."""
    return path == "/" or path.startswith(("/p/", "/login"))


def is_page(request: Request) -> bool:
    """A page gets HTML errors; a run page's status poll stays JSON."""
    path = request.url.path
    return is_page_path(path) and not path.endswith("/status")


def page_error(status: int, code: str, message: str) -> Response:
    return HTMLResponse(
        render_error(status, code, message),
        status_code=status,
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


def _predscope(request: Request, error: Exception) -> Response:
    assert isinstance(error, exc.PredscopeError)
    if is_page(request):
        return page_error(status_for(error), error.code, str(error))
    return error_response(error)


def _http(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    message = str(error.detail) if error.detail else code.replace("_", " ")
    if is_page(request):
        return page_error(error.status_code, code, message)
    return JSONResponse(
        error_body(code, message), status_code=error.status_code, headers=error.headers
    )


def _unexpected(_: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return JSONResponse(
        error_body("internal_error", f"internal error ({type(error).__name__}) - see the log"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(exc.PredscopeError, _predscope)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
