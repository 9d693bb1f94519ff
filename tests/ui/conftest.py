"""A real browser for the UI tests: Debian's chromium driven by Playwright (no browser download).

Every page a test opens is watched: a console error, an uncaught exception, a failed request, a
request to any host but the loopback test server, or a Content-Security-Policy violation fails
the test. A failing test leaves a screenshot in its temporary directory (the path is printed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from predscope.ui.browser import CHROMIUM_FLAGS, CHROMIUM_PATH

CHROMIUM = Path(CHROMIUM_PATH)
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Records CSP violations in the page itself (console messages can be missed for some kinds).
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real ``predscope serve`` over the analysed scikit-image project (``tests/ui/served``)."""
    from tests.ui.served import served_site

    with served_site(tmp_path_factory.mktemp("ui-site")) as s:
        yield s


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "needs Debian's chromium at /usr/bin/chromium (scripts/setup --test installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS))
        try:
            yield b
        finally:
            b.close()


def _remote(url: str) -> bool:
    if url.startswith(("data:", "blob:", "about:")):
        return False
    return (urlsplit(url).hostname or "") not in LOOPBACK


def wait_until(page: Any, expression: str, timeout_s: float = 15.0) -> None:
    """Poll ``expression`` from the test side until it is true: ``wait_for_function`` evaluates
    with ``eval`` inside the page, which the pages' CSP (rightly) refuses."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


class PageProblems:
    """What went wrong while a page ran; ``allow`` lets a test expect one kind of problem."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.allowed: list[str] = []

    def add(self, kind: str, detail: str) -> None:
        if not any(a in detail for a in self.allowed):
            self.found.append(f"{kind}: {detail}")

    def allow(self, fragment: str) -> None:
        self.allowed.append(fragment)


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(
    browser: Any, problems: PageProblems, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(CSP_PROBE)

    def gate(route: Any) -> None:
        if not _remote(route.request.url):
            route.continue_()
        else:
            problems.add("request to another host", route.request.url)
            route.abort()

    context.route("**/*", gate)
    pg = context.new_page()
    pg.on(
        "console",
        lambda m: (
            problems.add("console error", f"{m.text} at {m.location.get('url', '?')}")
            if m.type == "error"
            else None
        ),
    )
    pg.on("pageerror", lambda e: problems.add("uncaught exception", str(e)))

    # A request the page itself dropped is not a failure: an image whose src changed, or anything
    # still loading when the page navigated on (a click or a key press before a script arrived).
    navigations = [0]
    started: dict[Any, int] = {}

    def navigated(frame: Any) -> None:
        if frame == pg.main_frame:
            navigations[0] += 1

    aborted: list[tuple[str, int]] = []

    def failed(r: Any) -> None:
        since = started.pop(r, navigations[0])
        if r.failure == "net::ERR_ABORTED" and not _remote(r.url):
            if r.resource_type != "image":
                aborted.append((r.url, since))  # judged at the end, once every event is in
            return
        problems.add("failed request", f"{r.url} ({r.failure})")

    answered: set[str] = set()  # an error answer is reported as such; its abort adds nothing

    def response(r: Any) -> None:
        if r.status >= 400:
            answered.add(r.url)
            problems.add("HTTP error", f"{r.status} {r.url}")

    pg.on("request", lambda r: started.__setitem__(r, navigations[0]))
    pg.on("requestfinished", lambda r: started.pop(r, None))
    pg.on("framenavigated", navigated)
    pg.on("requestfailed", failed)
    pg.on("response", response)
    yield pg
    for url, since in aborted:
        if since == navigations[0] and url not in answered:
            problems.add("failed request", f"{url} (net::ERR_ABORTED)")
    try:
        if not pg.is_closed() and pg.url.startswith("http"):
            for v in pg.evaluate("window.__cspViolations || []"):
                problems.add("CSP violation", v)
    finally:
        report = getattr(request.node, "report_call", None)
        if (report is not None and report.failed) or problems.found:
            shot = tmp_path / "failure.png"
            if not pg.is_closed():
                pg.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot of the failing page: {shot}")
        context.close()
    assert not problems.found, "the page reported problems:\n" + "\n".join(problems.found)
