"""The safety rules every request passes, as one ASGI middleware in front of the app.

In order: the ``Host`` header must name this server when it is bound to loopback (a web page
cannot reach a loopback server through DNS rebinding); a state-changing request from a browser
must come from this server's own origin (no cross-site form posts); the bearer token, when the
server requires one; and the body-size limit, checked on ``Content-Length`` up front and on the
bytes actually received (chunked uploads too). Refusals are JSON like every other error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import anyio.to_thread
from starlette.responses import JSONResponse, RedirectResponse

from predscope.exceptions import AuthenticationError, PredscopeError, RequestTooLargeError
from predscope.server.errors import error_body, error_response, is_page_path
from predscope.server.settings import Settings
from predscope.services.tokens import check_token
from predscope.store.engine import Store

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _host_name(host: str) -> str:
    """``127.0.0.1:8000`` -> ``127.0.0.1``; ``[::1]:8000`` -> ``[::1]``."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_encord_path(path: str) -> bool:
    """Encord's SDK endpoints check their own credentials (a signed request or a bearer token,
    server/encord/signing.py), on loopback too, so the token rule leaves them to it."""
    return path == "/public" or path.startswith(("/public/", "/v2/public/"))


LOGIN_PATH = "/login"
TOKEN_COOKIE = "predscope_token"


def is_open_path(path: str) -> bool:
    """What a browser needs before it has a token: the sign-in page and the static files."""
    return path == LOGIN_PATH or path.startswith("/static/")


def _cookie(scope: Scope, name: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(_header(scope, b"cookie") or "")
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _query_of(scope: Scope) -> str:
    raw = scope.get("query_string", b"")
    return "?" + raw.decode("latin-1") if raw else ""


class SafetyMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, store: Store) -> None:
        self.app = app
        self.settings = settings
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self._check(scope)
        except AuthenticationError as error:
            path = str(scope.get("path", ""))
            if scope["method"] in _SAFE_METHODS and is_page_path(path):  # a person: sign in
                query = urlencode({"next": path + _query_of(scope)})
                await RedirectResponse(f"{LOGIN_PATH}?{query}", status_code=303)(
                    scope, receive, send
                )
                return
            await error_response(error)(scope, receive, send)
            return
        except PredscopeError as error:
            await error_response(error)(scope, receive, send)
            return
        except _Forbidden as refusal:
            await JSONResponse(error_body("forbidden", str(refusal)), status_code=403)(
                scope, receive, send
            )
            return
        await self.app(scope, self._limited(receive), self._with_headers(send))

    async def _check(self, scope: Scope) -> None:
        host = _header(scope, b"host") or ""
        if self.settings.loopback and _host_name(host) not in _LOOPBACK_NAMES:
            raise _Forbidden(
                f"Host {host!r}: this server listens on loopback only - open it as "
                f"http://127.0.0.1:{self.settings.port}/"
            )
        origin = _header(scope, b"origin")
        cross_site = origin not in (None, "null") and urlsplit(str(origin)).netloc != host
        if scope["method"] not in _SAFE_METHODS and cross_site:
            raise _Forbidden(f"Origin {origin!r}: cross-site requests may not change anything here")
        path = str(scope.get("path", ""))
        if self.settings.require_token and not (is_encord_path(path) or is_open_path(path)):
            await self._authenticate(scope)
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.settings.max_body_bytes:
            raise self._too_large(int(length))

    async def _authenticate(self, scope: Scope) -> None:
        value = _header(scope, b"authorization") or ""
        scheme, _, token = value.partition(" ")
        if not value:  # a browser signed in at /login sends the token as its cookie
            scheme, token = "bearer", _cookie(scope, TOKEN_COOKIE) or ""
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(
                "this server requires a token: send 'Authorization: Bearer <token>' - "
                "`predscope token create` makes one"
            )
        record = await anyio.to_thread.run_sync(check_token, self.store, token.strip())
        if record is None:
            raise AuthenticationError(
                "the bearer token is not valid (unknown or revoked) - check it, or make a new "
                "one with `predscope token create`"
            )

    def _too_large(self, size: int | None) -> RequestTooLargeError:
        limit_mb = self.settings.max_body_bytes / (1024 * 1024)
        got = f"{size} bytes" if size is not None else "more"
        return RequestTooLargeError(
            f"request body: {got} is over the server's limit of {limit_mb:g} MB - send a "
            "smaller file, or start the server with a larger --max-body-mb"
        )

    def _limited(self, receive: Receive) -> Receive:
        received = 0
        limit = self.settings.max_body_bytes

        async def wrapped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self._too_large(None)
            return message

        return wrapped

    def _with_headers(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(k).lower() for k, _ in headers}
                headers.extend((k, v) for k, v in _HEADERS if k not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", b"default-src 'self'"))
                message["headers"] = headers
            await send(message)

        return wrapped


class _Forbidden(Exception):
    """A request refused by the host or origin rule (403)."""
