from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import mean, median

import numpy as np
import pytest

from vitals.core.events import parse_event
from vitals.tools.sim.columns import NAME_CODE, NAMES
from vitals.tools.sim.generator import OUT_OF_ORDER_DELAY_S, Simulation, simulate

START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400.0


@pytest.fixture(scope="module")
def saas_year() -> Simulation:
    return simulate(600, START, 365, seed=11, kind="saas", duplicate_rate=0, out_of_order_rate=0)


@pytest.fixture(scope="module")
def mixed() -> Simulation:
    return simulate(240, START, 200, seed=5, kind="mixed")


def _ts(event: dict) -> float:
    return datetime.fromisoformat(event["timestamp"]).timestamp()


@dataclass
class Rows:
    """One customer's events from the simulation's columns (fast to scan; the dicts' data)."""

    ts: np.ndarray
    usage: np.ndarray  # event times of usage events
    names: list[str | None]

    def usage_between(self, lo: float, hi: float) -> int:
        return int(np.count_nonzero((self.usage >= lo) & (self.usage < hi)))

    def times_of(self, name: str) -> list[float]:
        return [float(t) for t, n in zip(self.ts, self.names, strict=True) if n == name]


@pytest.fixture(scope="module")
def saas_rows(saas_year: Simulation) -> dict[str, Rows]:
    table = saas_year.table
    order = np.lexsort((table.ts, table.cust))
    cust, ts, kind, name = table.cust[order], table.ts[order], table.kind[order], table.name[order]
    bounds = np.searchsorted(cust, np.arange(len(table.customer_ids) + 1))
    out = {}
    for index, cid in enumerate(table.customer_ids):
        lo, hi = bounds[index], bounds[index + 1]
        non_usage = kind[lo:hi] != 0
        out[cid] = Rows(
            ts=ts[lo:hi][non_usage],
            usage=ts[lo:hi][~non_usage],
            names=[NAMES[code] for code in name[lo:hi][non_usage].tolist()],
        )
    return out


def test_same_seed_gives_the_same_stream_and_another_seed_does_not() -> None:
    first = list(simulate(40, START, 90, seed=3, kind="mixed").events)
    again = list(simulate(40, START, 90, seed=3, kind="mixed").events)
    other = list(simulate(40, START, 90, seed=4, kind="mixed").events)
    assert first == again
    assert len(first) > 1000
    assert first != other


def test_a_customers_story_does_not_depend_on_population_size() -> None:
    small = [
        e
        for e in simulate(10, START, 60, seed=9, kind="saas").events
        if e["customer_id"] == "acct-00003"
    ]
    large = [
        e
        for e in simulate(30, START, 60, seed=9, kind="saas").events
        if e["customer_id"] == "acct-00003"
    ]
    assert {e["event_id"] for e in small} == {e["event_id"] for e in large}


def test_every_event_passes_the_contract(mixed: Simulation) -> None:
    kinds = Counter()
    for event in mixed.events:
        parsed = parse_event(event)
        kinds[(parsed.type, parsed.name if parsed.type != "usage" else "*")] += 1
    for expected in [
        ("usage", "*"),
        ("purchase", None),
        ("profile", None),
        ("subscription", "started"),
        ("subscription", "renewed"),
        ("subscription", "cancelled"),
        ("subscription", "payment_failed"),
        ("support", "ticket_opened"),
        ("feedback", "nps"),
        ("feedback", "csat"),
    ]:
        assert kinds[expected] > 0, expected


def test_profiles_carry_owner_segment_plan_seats_and_renewal_date(mixed: Simulation) -> None:
    first_profiles = {}
    for event in mixed.events:
        if event["type"] == "profile" and event["customer_id"].startswith("acct-"):
            first_profiles.setdefault(event["customer_id"], event["properties"])
    assert len(first_profiles) == sum(1 for t in mixed.truth.values() if t.kind == "saas")
    owners = {p["owner"] for p in first_profiles.values()}
    assert 4 <= len(owners) <= 6
    assert {p["segment"] for p in first_profiles.values()} == {"smb", "mid-market", "enterprise"}
    assert {p["plan"] for p in first_profiles.values()} <= {"starter", "pro", "enterprise"}
    assert all(isinstance(p["seats"], int) and p["seats"] > 0 for p in first_profiles.values())
    assert all("renewal_date" in p for p in first_profiles.values())


def test_without_noise_the_stream_is_time_ordered_with_unique_ids(saas_year: Simulation) -> None:
    times = saas_year.table.ts
    assert np.all(np.diff(times) >= 0)
    ids = [e["event_id"] for e in saas_year.iter_events(until=START + timedelta(days=60))]
    assert len(ids) == len(set(ids))


def test_duplicates_and_late_arrivals_appear_at_the_configured_rates() -> None:
    sim = simulate(
        150, START, 120, seed=2, kind="saas", duplicate_rate=0.01, out_of_order_rate=0.03
    )
    seen: dict[str, dict] = {}
    duplicates = late = 0
    watermark = 0.0
    for event in sim.events:
        ts = _ts(event)
        if event["event_id"] in seen:
            duplicates += 1
            assert seen[event["event_id"]] == event  # a resend is the same event
            continue
        seen[event["event_id"]] = event
        if ts < watermark:
            late += 1
            assert watermark - ts <= OUT_OF_ORDER_DELAY_S[1]
        watermark = max(watermark, ts)
    n = len(seen)
    assert 0.007 < duplicates / n < 0.013
    # Nearly every delayed event lands behind some other customer's later event.
    assert 0.02 < late / n < 0.035


def test_ghost_accounts_stop_using_but_keep_renewing_before_they_cancel(
    saas_year: Simulation, saas_rows: dict[str, Rows]
) -> None:
    fades, renewed_while_faded = [], []
    for cid, truth in saas_year.truth.items():
        if truth.archetype != "ghost" or not truth.saas.cancels:
            continue
        rows = saas_rows[cid]
        signup, cancel = truth.saas.starts[0], truth.saas.cancels[0]
        early = rows.usage_between(signup, signup + 30 * DAY)
        if early < 20:
            continue
        fades.append(rows.usage_between(cancel - 30 * DAY, cancel) / early)
        last = max((ts for ts in rows.times_of("renewed") if ts < cancel), default=signup)
        renewed_while_faded.append(
            rows.usage_between(last - 14 * DAY, last) < 0.2 * early * 14 / 30
        )
    assert len(fades) >= 15
    assert median(fades) < 0.15
    assert mean(renewed_while_faded) > 0.8


def test_growing_accounts_grow_and_declining_accounts_decline(
    saas_year: Simulation, saas_rows: dict[str, Rows]
) -> None:
    ratios: dict[str, list[float]] = defaultdict(list)
    end = (START + timedelta(days=365)).timestamp()
    for cid, truth in saas_year.truth.items():
        if truth.archetype not in ("growing", "declining") or truth.saas.cancels:
            continue
        signup = truth.saas.starts[0]
        if end - signup < 240 * DAY:
            continue
        first = saas_rows[cid].usage_between(signup, signup + 60 * DAY)
        last = saas_rows[cid].usage_between(end - 60 * DAY, end)
        ratios[truth.archetype].append(last / max(first, 1))
    assert median(ratios["growing"]) > 1.3
    assert median(ratios["declining"]) < 0.6


def test_churn_is_predictable_but_noisy(saas_year: Simulation, saas_rows: dict[str, Rows]) -> None:
    """Most cancellations follow a usage decline or payment trouble weeks before; not all."""
    warned = []
    for cid, truth in saas_year.truth.items():
        for cancel in truth.saas.cancels[:1]:
            rows = saas_rows[cid]
            if cancel - truth.saas.starts[0] < 120 * DAY:
                continue
            before = rows.usage_between(cancel - 120 * DAY, cancel - 90 * DAY)
            recent = rows.usage_between(cancel - 30 * DAY, cancel)
            trouble = any(
                cancel - 45 * DAY <= ts < cancel for ts in rows.times_of("payment_failed")
            )
            warned.append(recent < 0.5 * before or trouble)
    assert len(warned) >= 40
    assert 0.6 < mean(warned) < 0.97


def test_late_payers_fail_payments_and_cancellers_ask_first(
    saas_year: Simulation, saas_rows: dict[str, Rows]
) -> None:
    failures: dict[bool, list[int]] = defaultdict(list)
    asked = []
    for cid, truth in saas_year.truth.items():
        names = saas_rows[cid].names
        failures[truth.archetype == "late_payer"].append(names.count("payment_failed"))
        # A canceller may be cut off by a failed payment before asking; the rest ask first.
        if (
            truth.archetype == "canceller"
            and "cancelled" in names
            and "payment_failed" not in names
        ):
            asked.append("cancellation_requested" in names[: names.index("cancelled")])
    assert mean(failures[True]) > 5 * mean(failures[False])
    assert asked and all(asked)


def test_feedback_is_worse_for_accounts_that_churn(saas_year: Simulation) -> None:
    table = saas_year.table
    nps = table.name == NAME_CODE["nps"]
    scores: dict[bool, list[float]] = defaultdict(list)
    for cust, score in zip(table.cust[nps].tolist(), table.score[nps].tolist(), strict=True):
        truth = saas_year.truth[table.customer_ids[cust]]
        scores[bool(truth.saas.cancels)].append(score)
    assert mean(scores[True]) < mean(scores[False]) - 0.5


def test_labels_agree_with_the_cancellations_and_purchases_in_the_stream(mixed: Simulation) -> None:
    as_of = START + timedelta(days=110)
    lo, hi = as_of.timestamp(), (as_of + timedelta(days=60)).timestamp()
    labels = mixed.labels(as_of, 60)
    cancelled_in, bought_in, cancelled_before, seen_before = set(), set(), set(), set()
    for event in mixed.events:
        ts, cid = _ts(event), event["customer_id"]
        if ts <= lo:
            seen_before.add(cid)
        if event.get("name") == "cancelled":
            (cancelled_in if lo < ts <= hi else cancelled_before if ts <= lo else set()).add(cid)
        if event["type"] == "purchase" and lo < ts <= hi:
            bought_in.add(cid)
    churn = {cid: v["churned"] for cid, v in labels.items() if "churned" in v}
    again = {cid: v["buys_again"] for cid, v in labels.items() if "buys_again" in v}
    assert churn and again
    assert set(labels) <= seen_before
    for cid, churned in churn.items():
        assert churned == (cid in cancelled_in), cid
    for cid, buys in again.items():
        assert buys == (cid in bought_in), cid
    assert 0 < sum(churn.values()) < len(churn)
    assert 0 < sum(again.values()) < len(again)
    # Accounts that cancelled before as_of and did not come back are not labelled.
    gone = {cid for cid in cancelled_before if len(mixed.truth[cid].saas.starts) == 1}
    assert gone and not gone & set(churn)


def test_purchase_customers_follow_the_bgnbd_population() -> None:
    sim = simulate(800, START, 365, seed=8, kind="purchases")
    truths = [t.purchases for t in sim.truth.values()]
    counts = [len(t.purchases) for t in truths]
    assert all(c >= 1 for c in counts)
    one_timers = sum(c == 1 for c in counts) / len(counts)
    assert 0.3 < one_timers < 0.8  # dropout after the first purchase, plus slow buyers
    amounts = [e["amount"] for e in sim.events if e["type"] == "purchase"]
    assert 20 < mean(amounts) < 40  # Gamma-Gamma population mean 28.8
    # Frequent buyers buy more often (rate heterogeneity shows in the counts).
    fast = [len(t.purchases) for t in truths if t.rate_per_day > 0.05]
    slow = [len(t.purchases) for t in truths if t.rate_per_day < 0.01]
    assert mean(fast) > 2 * mean(slow)


def test_a_million_events_take_seconds_not_minutes() -> None:
    begin = time.perf_counter()
    sim = simulate(600, START, 365, seed=1, kind="saas")
    count = sum(1 for _ in sim.events)
    elapsed = time.perf_counter() - begin
    assert count > 700_000
    assert elapsed / count * 1_000_000 < 30  # seconds per million, generous for a busy 2-core box


def test_signup_days_puts_every_signup_and_first_purchase_early() -> None:
    sim = simulate(80, START, 200, seed=3, kind="mixed", signup_days=20)
    limit = (START + timedelta(days=20)).timestamp()
    for truth in sim.truth.values():
        first = truth.saas.starts[0] if truth.saas else truth.purchases.purchases[0]
        assert first <= limit
