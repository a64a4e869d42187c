"""Headless Chromium for the page tests and the README screenshot: Debian's `chromium` package,
driven by Playwright's Python package (never a browser that `playwright install` downloads).

    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("TRISERVE_CHROMIUM", "/usr/bin/chromium"))

# No sandbox: CI runs as root in a container. The rest keeps Chromium off the network and quiet.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright):
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
