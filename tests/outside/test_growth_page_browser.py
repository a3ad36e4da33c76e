"""The growth page in a real browser over a served API and a seeded growth projection: the funnel
table per month, and the month in progress shown with its run rate and days covered, never as a
collapse against the whole month before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api.growth_seed import seed
from e2e.services import free_port, running
from playwright.sync_api import expect
from redis.asyncio import Redis

from vitals.platform.settings import Settings
from vitals.tools.stackctl import run_blocking

from .browser import ARTIFACTS, watched_page

pytestmark = pytest.mark.integration


async def _seed(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    try:
        await seed(redis)
    finally:
        await redis.aclose()


@pytest.fixture
def growth_api(settings: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    settings = settings.model_copy(update={"api_port": port})
    run_blocking(lambda: _seed(settings))
    url = f"http://127.0.0.1:{port}"
    with running("api", ["api"], settings, tmp_path, f"{url}/healthz"):
        yield url


@pytest.mark.timeout(600)
def test_growth_page_shows_the_month_in_progress_at_its_run_rate(growth_api: str) -> None:
    periods = httpx.get(f"{growth_api}/v1/funnel").json()["periods"]
    current = periods[-1]
    assert current["partial"] and current["lvr_pct"] is None
    with watched_page() as watched:
        page = watched.page
        page.goto(f"{growth_api}/ui/growth")
        rows = page.locator("#table tbody tr")
        expect(rows).to_have_count(len(periods))
        lvr = page.locator("#table thead th").all_inner_texts().index("LVR")
        # Newest first: the month in progress says how much of it the data covers, and its LVR
        # cell is the run rate (marked ≈), not the -100 % a whole-month comparison would show.
        first = rows.first.locator("td")
        days = f"({current['days_covered']}/{current['days_in_period']} d)"
        expect(first.first).to_have_text(f"{current['period']} {days}")
        run_rate = current["lvr_run_rate_pct"]
        expect(first.nth(lvr)).to_have_text(f"≈ {run_rate:.0f} %")
        # A whole month keeps its plain LVR.
        whole = periods[-2]
        second = rows.nth(1).locator("td")
        expect(second.first).to_have_text(whole["period"])
        expect(second.nth(lvr)).to_have_text(f"{whole['lvr_pct']:.0f} %")
        # The thresholds the buying customers fit (lead-a: one order of 500 in the window).
        expect(page.locator("#fitted")).to_contain_text("median: $500+ per order, 1 order in")
        # A budget for one month: cost per SQL in that month's row only (February: one SQL).
        cost = page.locator("#table thead th").all_inner_texts().index("Cost/SQL")
        page.fill("#f-budget", "2026-02:450")
        page.press("#f-budget", "Enter")
        feb = page.locator("#table tbody tr", has_text="2026-02").locator("td")
        expect(feb.nth(cost)).to_have_text("$450")
        expect(first.nth(cost)).to_have_text("–")
        page.screenshot(path=str(ARTIFACTS / "growth-page.png"), full_page=True)
        assert not watched.problems(), watched.problems()
