"""How predscope's own tooling starts a headless browser: Debian's chromium and its flags.

The browser tests (``tests/ui``) and the page benchmark (``benchmarks/ui.py``) both launch
chromium through Playwright with these, so a timing and a test always run the same browser the
same way. The flags suit a container: no sandbox (no user namespaces), no GPU, and none of
chromium's background calls home, so a page can only reach the server under test. The path is
Debian's package; ``playwright install`` downloads its own browser and is never used.
"""

from __future__ import annotations

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
