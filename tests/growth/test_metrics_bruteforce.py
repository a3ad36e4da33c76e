"""Every population metric, computed incrementally from at-least-once deliveries (shuffled,
duplicated, with stale snapshots re-applied), equals a brute-force computation over the events."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitals.core.events import Event
from vitals.growth import report
from vitals.growth.aggregate import Totals
from vitals.growth.budget import Budget
from vitals.growth.config import GrowthConfig
from vitals.growth.experiments import _arm_totals
from vitals.growth.fold import apply_growth_event
from vitals.growth.groups import ORDERS_CAP, fit_thresholds, price_bucket
from vitals.growth.periods import Period
from vitals.growth.processor import snapshot_of
from vitals.growth.state import STAGES, GrowthState

from . import bruteforce
from .factories import DAY, deliveries, event_streams

CONFIG = GrowthConfig()
# A short window and low thresholds so that groups move (and expire) inside the generated months.
GROUP_CONFIG = GrowthConfig(group_window_days=60.0, price_threshold=100.0, frequency_threshold=2.0)
RUNS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def incremental(delivered: list[Event], config: GrowthConfig, stale_every: int) -> Totals:
    """The projection's path: fold each delivery, apply the entity's snapshot, and re-deliver
    some snapshots again later (older versions must be ignored)."""
    states: dict[str, GrowthState] = {}
    totals = Totals()
    stale = []
    for index, event in enumerate(delivered):
        state = states.setdefault(event.customer_id, GrowthState(event.customer_id))
        # Like the processor: a snapshot only when a fact may have changed.
        if apply_growth_event(state, event, config) != "changed":
            continue
        snapshot = snapshot_of(state, config)
        totals.apply_snapshot(snapshot)
        if index % stale_every == 0:
            stale.append(snapshot)
    for snapshot in stale:
        totals.apply_snapshot(snapshot)
    return totals


# The events, their at-least-once deliveries, and how often a snapshot is re-applied stale.
Case = tuple[list[Event], list[Event], int]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    events = draw(event_streams())
    return events, draw(deliveries(events)), draw(st.integers(1, 4))


def both_ways(case: Case, config: GrowthConfig) -> tuple[Totals, dict[str, Any], dict[str, float]]:
    """The metrics incrementally from the deliveries (the projection's path), and by brute force
    over the events with the customers' arrival times."""
    events, delivered, stale_every = case
    expected, arrivals = bruteforce.metrics(events, config)
    return incremental(delivered, config, stale_every), expected, arrivals


def _day(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


def _month_view(totals: Totals, cohort: str | None = None) -> report.View:
    return report.View(totals.metrics, Period.parse("month"), cohort)


@RUNS
@given(cases())
def test_funnel_matches_brute_force(case: Case) -> None:
    events = case[0]
    totals, expected, _ = both_ways(case, CONFIG)
    got = report.funnel(_month_view(totals), Budget(every=1000.0))
    for row in got["periods"]:
        label = row["period"]
        for stage in STAGES:
            assert row["entered"][stage] == expected[f"enter:{stage}"].get(label, 0), (stage, label)
        for name in ("lead_mql", "mql_sql", "mql_opportunity", "mql_customer"):
            assert row["conversion"][name]["converted"] == expected[f"conv:{name}"].get(label, 0)
        assert row["conversions_fast"] == expected["cust:fast"].get(label, 0)
        assert row["conversions_old"] == expected["cust:old"].get(label, 0)
        sql = expected["enter:sql"].get(label, 0)
        assert row["cost_per_sql"] == (pytest.approx(1000.0 / sql) if sql else None)
    # every month with an entry is reported
    assert sum(r["entered"]["visitor"] for r in got["periods"]) == len(
        {e.customer_id for e in events}
    )
    # Only the month holding the last day of data can be in progress (no since/until here).
    as_of = _month_view(totals).as_of()
    assert [r["partial"] for r in got["periods"]] == [
        r is got["periods"][-1] and as_of is not None and _day(as_of + 1).day != 1
        for r in got["periods"]
    ]
    for previous, row in zip(got["periods"], got["periods"][1:], strict=False):
        before = expected["enter:mql"].get(previous["period"], 0)
        now = expected["enter:mql"].get(row["period"], 0)
        whole = pytest.approx((now - before) / before * 100) if before else None
        assert row["lvr_pct"] == (None if row["partial"] else whole)
        pace = now * row["days_in_period"] / row["days_covered"]
        settled = row["days_covered"] >= report.MIN_RUN_RATE_COVERAGE * row["days_in_period"]
        assert row["lvr_run_rate_pct"] == (
            (pytest.approx((pace - before) / before * 100) if before else None)
            if row["partial"] and settled
            else None
        )
    for stage in STAGES[:-1]:
        cell = expected[f"tis:{stage}"]
        mean = got["time_in_stage"][stage]["mean_days"]
        assert got["time_in_stage"][stage]["left"] == cell.get("n", 0)
        if cell.get("n"):
            assert mean == pytest.approx(cell["sum"] / cell["n"] / DAY)
    assert {k: v for k, v in got["current"].items() if v} == dict(expected["now"])


@RUNS
@given(cases())
def test_groups_match_brute_force(case: Case) -> None:
    totals, expected, _ = both_ways(case, GROUP_CONFIG)
    got = report.groups(_month_view(totals), GROUP_CONFIG.threshold_quantile)
    flows = {
        (row["period"], move): count
        for row in got["periods"]
        for move, count in row["flows"].items()
    }
    assert flows == dict(expected["flow"])
    assert {k: v for k, v in got["current"].items() if v} == dict(expected["group"])
    # The fitted thresholds: the exact quantiles of the customers buying now, price bucketed.
    exact = fit_thresholds(list(expected["buying_now"].values()), GROUP_CONFIG.threshold_quantile)
    if exact is None:
        assert got["fitted"] is None
    else:
        assert got["fitted"] == {
            "quantile": GROUP_CONFIG.threshold_quantile,
            "buyers": len(expected["buying_now"]),
            "unit_price": price_bucket(exact[0]),
            "orders_in_window": min(int(exact[1]), ORDERS_CAP),
        }
    # sizes at the end of the last period = current groups
    if got["periods"]:
        assert {k: v for k, v in got["periods"][-1]["sizes"].items() if v} == dict(
            expected["group"]
        )


@RUNS
@given(cases())
def test_aarrr_activation_and_k_factor_match_brute_force(case: Case) -> None:
    totals, expected, arrivals = both_ways(case, CONFIG)
    got = report.growth(_month_view(totals), totals.arrivals, totals.cohorts)
    assert totals.arrivals == arrivals
    assert totals.cohorts == expected["referrer_cohort"]
    pairs = expected["refpairs"]
    for row in got["periods"]:
        label = row["period"]
        for stage, count in row["aarrr"].items():
            assert count == expected[f"aarrr:{stage}"].get(label, 0), (stage, label)
        acquired = expected["aarrr:acquisition"].get(label, 0)
        activated = expected["activated_by_acq"].get(label, 0)
        assert row["activation_rate"] == (activated / acquired if acquired else None)
        mine = [(ref, ts, n) for (m, ref, ts), n in pairs.items() if m == label]
        brought = sum(n for _, _, n in mine)
        referrers = {ref for ref, _, _ in mine}
        assert row["referred_customers"] == brought
        assert row["k_factor"] == (brought / len(referrers) if referrers else None)
        gaps = [((ts - arrivals[ref]) / DAY, n) for ref, ts, n in mine if ref in arrivals]
        weight = sum(n for _, n in gaps)
        expected_cycle = sum(g * n for g, n in gaps) / weight if weight else None
        assert row["cycle_days"] == (pytest.approx(expected_cycle) if weight else None)


@RUNS
@given(cases())
def test_k_factor_of_a_cohort_counts_that_cohort_s_referrers_only(case: Case) -> None:
    totals, expected, _ = both_ways(case, CONFIG)
    cohort_of = expected["referrer_cohort"]
    pairs = expected["refpairs"]
    # Every referrer's cohort, and one no referrer has (nothing counts there).
    for cohort in {cohort_of.get(ref) for (_, ref, _) in pairs} - {None} | {"1999-01"}:
        got = report.growth(_month_view(totals, cohort), totals.arrivals, totals.cohorts)
        for row in got["periods"]:
            mine = [
                (ref, n)
                for (m, ref, _), n in pairs.items()
                if m == row["period"] and cohort_of.get(ref) == cohort
            ]
            brought = sum(n for _, n in mine)
            referrers = {ref for ref, _ in mine}
            assert row["referred_customers"] == brought, (cohort, row["period"])
            assert row["k_factor"] == (brought / len(referrers) if referrers else None)


@RUNS
@given(cases())
def test_experiment_outcomes_match_brute_force(case: Case) -> None:
    totals, expected, _ = both_ways(case, CONFIG)
    for name in ("x1", "x2"):
        got = _arm_totals(totals.metrics, name, 10**9)
        want: dict[str, Any] = {
            key.split(":")[2]: dict(cell)
            for key, cell in expected.items()
            if key.startswith(f"exp:{name}:")
        }
        assert set(got) == set(want)
        for arm, cell in want.items():
            for outcome in ("n", "conv", "ret", "churn", "rev"):
                assert got[arm][outcome] == cell.get(outcome, 0), (name, arm, outcome)


@RUNS
@given(cases())
def test_final_facts_do_not_depend_on_delivery(case: Case) -> None:
    events, delivered, stale_every = case
    in_order = incremental(sorted(events, key=lambda e: e.ts), CONFIG, 1_000_000)
    shuffled = incremental(delivered, CONFIG, stale_every)
    assert shuffled.metrics == in_order.metrics
