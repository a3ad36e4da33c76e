"""The simulated leads, referrals and experiment: valid events that fill every growth view."""

from __future__ import annotations

from vitals.core.events import parse_event
from vitals.growth import report
from vitals.growth.aggregate import Totals
from vitals.growth.config import DEFAULT_GROWTH
from vitals.growth.experiments import report_all
from vitals.growth.facts import day_of
from vitals.growth.fold import apply_growth_event
from vitals.growth.periods import Period
from vitals.growth.processor import snapshot_of
from vitals.growth.state import GrowthState
from vitals.tools.sim.growth import demo_feeds, simulate_growth

START = 1_767_225_600.0  # 2026-01-01


def _totals(events: list[dict]) -> Totals:  # type: ignore[type-arg]
    states: dict[str, GrowthState] = {}
    for raw in events:
        event = parse_event(raw)
        state = states.setdefault(event.customer_id, GrowthState(event.customer_id))
        apply_growth_event(state, event, DEFAULT_GROWTH)
    totals = Totals()
    for s in states.values():
        totals.apply_snapshot(snapshot_of(s, DEFAULT_GROWTH))
    return totals


def test_simulated_leads_fill_the_funnel_groups_referrals_and_the_experiment() -> None:
    sim = simulate_growth(START, 150, seed=4)
    stamps = [e["timestamp"] for e in sim.events]
    assert len({e["event_id"] for e in sim.events}) < len(sim.events)  # some resends
    totals = _totals(sim.events)
    view = report.View(totals.metrics, Period.parse("month"))
    rows = report.funnel(view)["periods"]
    assert [r["period"] for r in rows] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert all(r["entered"]["mql"] > 0 and r["entered"]["customer"] > 0 for r in rows[1:])
    assert sum(r["conversions_old"] for r in rows) > 0  # nurtured leads convert too
    assert sum(report.groups(view, 0.5)["current"][g] for g in "BCDE") > 0
    referrals = report.growth(view, totals.arrivals, totals.cohorts)["periods"]
    assert any(r["k_factor"] for r in referrals)
    (experiment,) = report_all(totals.metrics, DEFAULT_GROWTH, day_of(START) + 150)
    effect = experiment["effects"]["treatment"]
    assert effect["decision"] == "treatment better"
    low, high = effect["always_valid_interval"]
    assert low > 0 and low <= effect["effect"] <= high
    assert max(stamps) <= "2026-05-31"


def test_demo_feeds_split_at_now() -> None:
    history, future = demo_feeds(START, 30, seed=1, run_id="t")
    assert history and future
    assert max(e["timestamp"] for e in history) <= "2026-01-01T00:00:00Z"
    assert min(e["timestamp"] for e in future) > "2026-01-01T00:00:00Z"
