"""The page tests' browser fixtures, imported by name into each test file (a plain module, not a
conftest.py: see tests/serving.py): one headless Chromium per module, a fresh context and page
per test."""

from __future__ import annotations

import pytest
from headless import launch


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()
