"""The dashboard in a real browser (Debian's chromium driven by Playwright) over the running API:
the list in risk order, an owner filter, a click through to the customer page and its history
chart. Screenshots of each step are kept in .artifacts/browser/ (git-ignored) for a look."""

from __future__ import annotations

import re
from collections import Counter

import httpx
import pytest
from playwright.sync_api import Page, expect

from .browser import ARTIFACTS, watched_page
from .conftest import ServedApi

pytestmark = pytest.mark.integration

PAGE_SIZE = 25  # index.js


def listed_ids(page: Page) -> list[str]:
    hrefs = page.locator("#rows tr td:nth-child(2) a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return [href.rsplit("/", 1)[-1] for href in hrefs]


def shown_risks(page: Page) -> list[float]:
    cells = page.locator("#rows tr td:nth-child(3)").all_inner_texts()
    return [float(re.search(r"\d+(?:\.\d+)?", text).group()) for text in cells]  # type: ignore[union-attr]


def api_ids(api: ServedApi, **params: str) -> list[str]:
    page = httpx.get(f"{api.url}/v1/at-risk", params={"limit": str(PAGE_SIZE), **params}).json()
    return [item["customer_id"] for item in page["items"]]


# A fresh machine installs chromium (apt-get, ~100 MB) inside this test's time.
@pytest.mark.timeout(600)
def test_dashboard_lists_by_risk_filters_and_opens_a_customer_with_its_history(
    served_api: ServedApi, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = api_ids(served_api)
    assert len(expected) >= 5
    owners = Counter(
        (s.get("profile") or {}).get("owner")
        for s in served_api.latest.values()
        if s["customer_id"] in expected
    )
    owners.pop(None, None)
    owner = owners.most_common(1)[0][0]
    expected_owner = api_ids(served_api, owner=owner)
    assert 0 < len(expected_owner) < len(expected)

    with watched_page() as watched:
        page = watched.page
        # 1. The morning list: most at risk first, the same order as the API.
        page.goto(f"{served_api.url}/ui/")
        expect(page.locator("#rows tr td:nth-child(2) a")).to_have_count(len(expected))
        assert listed_ids(page) == expected
        risks = shown_risks(page)
        assert risks == sorted(risks, reverse=True), risks
        # The scatter plots customers with both a temperature and a health score.
        plotted = [
            cid
            for cid in served_api_active(served_api)
            if all(
                isinstance((served_api.latest[cid].get(k) or {}).get("value"), int | float)
                for k in ("temperature", "health")
            )
        ]
        expect(page.locator("#scatter circle")).to_have_count(len(plotted))
        page.screenshot(path=str(ARTIFACTS / "1-list.png"), full_page=True)

        # 2. One owner's book.
        page.select_option("#f-owner", owner)
        expect(page.locator("#rows tr td:nth-child(2) a")).to_have_count(len(expected_owner))
        assert listed_ids(page) == expected_owner
        for sub in page.locator("#rows tr td:nth-child(2) .sub").all_inner_texts():
            assert sub.startswith(owner), sub
        page.screenshot(path=str(ARTIFACTS / "2-filtered-by-owner.png"), full_page=True)

        # 3. Click through to the first customer: its page and its score history chart.
        first = expected_owner[0]
        snapshot = served_api.latest[first]
        page.locator("#rows tr td:nth-child(2) a").first.click()
        page.wait_for_url(f"**/ui/customers/{first}")
        expect(page.locator("#customer h2").first).to_have_text(
            snapshot["profile"].get("name") or first
        )
        chart = page.locator("svg.chart")
        expect(chart).to_be_visible()
        history = httpx.get(
            f"{served_api.url}/v1/customers/{first}/history", params={"limit": "90"}
        ).json()["points"]
        assert len(history) > 10
        lines = chart.locator("path").evaluate_all("ps => ps.map(p => p.getAttribute('d'))")
        assert lines, "no history line drawn"
        # One segment per point after the first, on the longest line (risk has every point).
        assert max(d.count("L") for d in lines) == len(history) - 1
        page.screenshot(path=str(ARTIFACTS / "3-customer.png"), full_page=True)
        assert not watched.problems(), watched.problems()
    with capsys.disabled():
        print(f"\n[outside] dashboard screenshots in {ARTIFACTS}")


def served_api_active(api: ServedApi) -> list[str]:
    """Customers the default (active) list shows: every one not churned."""
    return [
        cid for cid, s in api.latest.items() if (s.get("lifecycle") or {}).get("stage") != "churned"
    ]
