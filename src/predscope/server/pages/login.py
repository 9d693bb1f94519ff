"""Signing a browser in to a server that asks for a token: the token goes into an HttpOnly,
SameSite=Strict cookie that ``SafetyMiddleware`` accepts in place of the Authorization header,
so people can use the pages off loopback and scripts keep their bearer header."""

from __future__ import annotations

from urllib.parse import parse_qs

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from predscope.server.api.deps import StoreDep
from predscope.server.pages.common import html
from predscope.server.security import LOGIN_PATH, TOKEN_COOKIE
from predscope.services.tokens import check_token
from predscope.ui.render import render_login

router = APIRouter(include_in_schema=False)


def _local(path: str | None) -> str:
    """Where to go after signing in: a path of this server only (never another host)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_page(next: str | None = None) -> HTMLResponse:  # noqa: A002 (the URL's own name)
    return html(render_login(_local(next)))


@router.post(LOGIN_PATH)
async def login(request: Request, store: StoreDep) -> Response:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (fields.get("token") or [""])[0].strip()
    target = _local((fields.get("next") or ["/"])[0])
    valid = bool(token) and await anyio.to_thread.run_sync(check_token, store, token) is not None
    if not valid:
        message = "That token is not valid (unknown or revoked): check it, or make a new one."
        return html(render_login(target, message), status=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response
