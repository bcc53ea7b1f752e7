"""Headless Chromium (Debian's `chromium`) driven by Playwright, and the few page steps the UI
tests share.  Playwright's own browser download is not used: CI installs `chromium` (.ci/run).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path(candidates: list[str | None] | None = None) -> str:
    """The Chromium executable; a missing browser fails the test (it never skips it)."""
    if candidates is None:
        candidates = ["/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("Chromium is not installed: the browser tests of the Dagster UI need it. "
                "Install the Debian package (`apt-get install -y chromium`, as .ci/run does).",
                pytrace=False)


@contextmanager
def browser_page(width: int = 1600, height: int = 1000) -> Iterator:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(30_000)
            # the UI greets a new browser with a "Join the Dagster community" dialog; mark it
            # dismissed (the key the UI itself writes on "Skip"), and click "Skip" should it
            # still appear before an action
            page.add_init_script(
                "window.localStorage.setItem('communityNux', JSON.stringify('1'))")
            page.add_locator_handler(page.get_by_role("button", name="Skip"),
                                     lambda skip: skip.click())
            yield page
        finally:
            browser.close()


def group_node(page, group: str):
    """A group box of the asset graph (the canvas, not the sidebar)."""
    return page.locator(f'[data-tooltip="{group}"]')


def sidebar_groups(page) -> set[str]:
    buttons = page.locator('button:has([aria-label="asset_group"])')
    buttons.first.wait_for()
    return {text.splitlines()[0].strip() for text in buttons.all_inner_texts()}


def asset_node(page, asset: str):
    return page.get_by_text(asset, exact=True)


def open_asset_graph(page, base_url: str, groups: dict[str, list[str]]) -> None:
    """The global asset lineage with `groups` ({group: its assets}) expanded and fitted."""
    page.goto(base_url + "/asset-groups")
    for group, assets in groups.items():
        group_node(page, group).wait_for()
        if not asset_node(page, assets[0]).is_visible():
            group_node(page, group).click()  # a collapsed group expands on click
    # the expansion is remembered by the browser; a fresh load fits the expanded graph
    page.reload()
    for assets in groups.values():
        for asset in assets:
            asset_node(page, asset).wait_for()


def wait_until(predicate, timeout: float, what: str, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
