"""The UI's own files only, nothing fetched from elsewhere, nothing the CSP would block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from predscope.ui.render import STATIC_DIR

UI = STATIC_DIR.parent
TEMPLATES = UI / "templates"
ASSETS = sorted([*TEMPLATES.glob("*.html"), *STATIC_DIR.glob("*.css"), *STATIC_DIR.glob("*.js")])
REMOTE = re.compile(r"https?://|(?<![:\w])//cdn|url\(\s*['\"]?//", re.IGNORECASE)
OWN_STATIC = {
    "favicon.svg",
    "filters.js",
    "no-media.svg",
    "operating.js",
    "app.css",
    "app.js",
    "interval.js",
    "keys.js",
    "labels.js",
    "run.js",
    "layers.js",
    "scrubber.js",
    "sort.js",
    "url.js",
    "zoom.js",
}


def test_there_are_assets_to_check() -> None:
    assert {p.suffix for p in ASSETS} == {".html", ".css", ".js"}


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: p.name)
def test_no_asset_references_another_host(path: Path) -> None:
    hits = [
        f"{path.name}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if REMOTE.search(line)
    ]
    assert hits == []


def test_the_check_catches_remote_references() -> None:
    for bad in (
        '<script src="https://cdn.x/y.js">',
        "@import url(//cdn.x/a.css);",
        '<link href="//cdn.jsdelivr.net/a.css">',
        "fetch('http://x')",
    ):
        assert REMOTE.search(bad), bad
    assert not REMOTE.search("import { a } from './url.js'; // a comment")


def test_static_holds_only_the_projects_own_files() -> None:
    """No vendored library: every file is one of ours, and each names itself in its first line."""
    files = {p.name for p in STATIC_DIR.iterdir()}
    assert files == OWN_STATIC
    for name in files:
        body = (STATIC_DIR / name).read_text(encoding="utf-8")
        head = body.splitlines()[0]
        if name.endswith(".svg"):  # drawings: no script, nothing fetched
            assert head.startswith("<svg") and "<script" not in body and "href" not in body
            continue
        assert head.startswith(("//", "/*")), f"{name}: a file of ours starts with what it does"
        assert not re.search(r"\.min\.|license|copyright|@version", head, re.IGNORECASE)


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_style_or_handler(path: Path) -> None:
    """``default-src 'self'`` blocks all three; they would silently not run. A JSON data block
    (``type="application/json"``) is data, never executed, so the policy lets it be."""
    html = path.read_text(encoding="utf-8")
    code = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
    assert not code.search(html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=|<style", html), "inline style"
    assert "javascript:" not in html


@pytest.mark.parametrize("path", sorted(STATIC_DIR.glob("*.js")), ids=lambda p: p.name)
def test_scripts_use_no_eval_or_markup_strings(path: Path) -> None:
    js = path.read_text(encoding="utf-8")
    for banned in ("eval(", "new Function", "innerHTML", 'setAttribute("style"', ".cssText"):
        assert banned not in js, f"{path.name} uses {banned}"


def test_every_page_preloads_the_modules_its_script_imports() -> None:
    """The script's imports are fetched at once (``modulepreload``), not a level at a time:
    every module app.js reaches, read from the files, and no other."""
    from predscope.ui.render import module_graph, render_summary
    from predscope.ui.views import Chrome, SummaryView

    imported = set()
    for path in STATIC_DIR.glob("*.js"):
        imported |= set(re.findall(r'from "\./([\w.-]+\.js)"', path.read_text(encoding="utf-8")))
    assert set(module_graph()) == imported and "url.js" in imported  # url.js: two levels down
    html = render_summary(SummaryView(Chrome("Summary"), (), ()))
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/([\w.-]+)">', html)
    assert sorted(preloaded) == sorted(imported)
    assert '<script type="module" src="/static/app.js">' in html
