"""A page in Debian's chromium that records what a user would see go wrong: uncaught script
errors, console errors and failed responses (the browser's own /favicon.ico probe aside: the pages
declare no icon)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from .chromium import ensure_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "browser"
# Generous for 2 shared cores; Playwright polls, so a fast page costs nothing.
UI_TIMEOUT_MS = 20_000


@dataclass
class WatchedPage:
    page: Page
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [e for e in self.errors if "/favicon.ico" not in e]


@contextmanager
def watched_page() -> Iterator[WatchedPage]:
    chromium = ensure_chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            watched = WatchedPage(page)
            errors = watched.errors
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on(
                "response",
                lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
            )
            page.on(
                "console",
                lambda msg: (
                    errors.append(f"console: {msg.text} {msg.location}")
                    if msg.type == "error"
                    else None
                ),
            )
            yield watched
        finally:
            browser.close()
