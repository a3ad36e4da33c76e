"""The scorer's own path, brute-forced: records delivered at least once (shuffled, duplicated),
folded by GrowthProcessor in batches of any size (state through its msgpack table between
batches, snapshots only when a fact may change, cached score crossings and facts_due), then
projected; the funnel seen by any period kind (quarter, week, N days) and acquisition cohort
equals a count straight from the events. test_metrics_bruteforce.py checks every metric by
month on the pure fold; this one checks the processor and the period and cohort filters."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitals.core.events import Event
from vitals.growth import report
from vitals.growth.aggregate import Totals
from vitals.growth.config import GrowthConfig
from vitals.growth.periods import Period
from vitals.growth.processor import GrowthProcessor
from vitals.growth.state import STAGES
from vitals.platform.partitioning import partition_for

from . import bruteforce
from .factories import DAY, deliveries, event_streams

CONFIG = GrowthConfig()
PARTITIONS = 4
# Fewer examples than test_metrics_bruteforce.py: each runs the processor twice with msgpack
# round trips (the suite budget), and the pure-fold tests already cover the metrics by month.
RUNS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def label(kind: str, ts: float) -> str:
    """The period containing ``ts``, written out from the calendar (not vitals.growth.periods)."""
    moment = time.gmtime(ts)
    if kind == "quarter":
        return f"{moment.tm_year}-Q{(moment.tm_mon - 1) // 3 + 1}"
    if kind == "week":  # Monday to Sunday
        return time.strftime("%Y-%m-%d", time.gmtime(ts - moment.tm_wday * DAY))
    days = int(kind.split(":")[1])
    day = int(ts // DAY)
    return time.strftime("%Y-%m-%d", time.gmtime((day - day % days) * DAY))


def processed(delivered: list[Event], cuts: list[int]) -> Totals:
    """Records through GrowthProcessor in batches cut at ``cuts``; snapshots into the twin."""
    table: dict[bytes, bytes] = {}
    processor = GrowthProcessor(table, CONFIG, PARTITIONS, clock=lambda: 0.0)
    processor._heal_until = -1.0  # past the start-up heal window: quiet repeats publish nothing
    records = [
        (
            partition_for(e.customer_id, PARTITIONS),
            orjson.dumps(e.model_dump(mode="json", exclude_none=True)),
        )
        for e in delivered
    ]
    totals = Totals()
    edges = sorted({0, len(records), *(c % (len(records) + 1) for c in cuts)})
    for start, end in itertools.pairwise(edges):
        for snap in processor.process(records[start:end]):
            totals.apply_snapshot(snap)
    return totals


def expected_funnel(events: list[Event], kind: str, cohort: str | None) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {f"enter:{s}": Counter() for s in STAGES}
    out["cust:fast"], out["cust:old"] = Counter(), Counter()
    for evs in bruteforce.by_entity(events).values():
        if cohort is not None and bruteforce.month(evs[0].ts) != cohort:
            continue
        entries = bruteforce.entries(evs, CONFIG)
        for stage, ts in entries.items():
            out[f"enter:{stage}"][label(kind, ts)] += 1
        if "customer" in entries:
            fast = entries["mql"] - entries["visitor"] <= CONFIG.fast_lead_days * DAY
            out["cust:fast" if fast else "cust:old"][label(kind, entries["customer"])] += 1
    return out


# The events, their at-least-once deliveries, the batch cuts, the period kind and the cohort.
Case = tuple[list[Event], list[Event], list[int], str, str | None]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    events = draw(event_streams())
    kind = draw(st.sampled_from(["quarter", "week", "days:1", "days:7", "days:45"]))
    months = sorted({bruteforce.month(e.ts) for e in events})
    cohort = draw(st.none() | st.sampled_from(months))
    cuts = draw(st.lists(st.integers(0, 200), max_size=5))
    return events, draw(deliveries(events)), cuts, kind, cohort


@RUNS
@given(cases())
def test_processor_funnel_by_any_period_and_cohort_matches_brute_force(case: Case) -> None:
    events, delivered, cuts, kind, cohort = case
    totals = processed(delivered, cuts)
    got = report.funnel(report.View(totals.metrics, Period.parse(kind), cohort))
    want = expected_funnel(events, kind, cohort)
    rows: dict[str, Any] = {row["period"]: row for row in got["periods"]}
    for stage in STAGES:
        seen = {p: r["entered"][stage] for p, r in rows.items() if r["entered"][stage]}
        assert seen == dict(want[f"enter:{stage}"]), (stage, kind, cohort)
    assert {p: r["conversions_fast"] for p, r in rows.items() if r["conversions_fast"]} == dict(
        want["cust:fast"]
    )
    assert {p: r["conversions_old"] for p, r in rows.items() if r["conversions_old"]} == dict(
        want["cust:old"]
    )


@RUNS
@given(cases())
def test_processor_path_equals_the_pure_fold_whatever_the_batches(case: Case) -> None:
    events, delivered, cuts, _, _ = case
    once = processed(sorted(events, key=lambda e: e.ts), [])
    assert processed(delivered, cuts).metrics == once.metrics


@st.composite
def restarts(draw: st.DrawFn) -> tuple[list[Event], list[int], list[int], int, int, int]:
    """A stream, the batch cuts of a first worker and of its replacement, and where the first
    died (``killed``), the batch end its table is restored from (``restored``: what the
    changelog held) and the committed position the replacement re-reads from (``committed``),
    as indexes into the first worker's batch ends, ``committed <= restored <= killed``."""
    events = draw(event_streams())
    ordered = sorted(events, key=lambda e: e.ts)
    first = draw(st.lists(st.integers(0, 60), max_size=8))
    second = draw(st.lists(st.integers(0, 60), max_size=8))
    ends = len(sorted({0, len(ordered), *(c % (len(ordered) + 1) for c in first)}))
    killed = draw(st.integers(0, ends - 1))
    restored = draw(st.integers(0, killed))
    committed = draw(st.integers(0, restored))
    return ordered, first, second, killed, restored, committed


@RUNS
@given(restarts())
def test_a_worker_restarted_on_an_older_table_ends_at_the_pure_fold(
    case: tuple[list[Event], list[int], list[int], int, int, int],
) -> None:
    """The first worker folds in its batches and publishes each; it dies with its changelog
    behind what it published (the projection holds newer snapshots than the restored table).
    The replacement re-folds from the committed position in other batches: a snapshot version
    must not depend on the batching, or the projection keeps the dead worker's newer-numbered,
    older facts and ignores the replacement's final ones."""
    events, first, second, killed, restored, committed = case
    records = [
        (
            partition_for(e.customer_id, PARTITIONS),
            orjson.dumps(e.model_dump(mode="json", exclude_none=True)),
        )
        for e in events
    ]
    totals = Totals()
    table: dict[bytes, bytes] = {}
    worker = GrowthProcessor(table, CONFIG, PARTITIONS, clock=lambda: 0.0)
    edges = sorted({0, len(records), *(c % (len(records) + 1) for c in first)})
    tables = [dict(table)]  # the table at each batch end
    for start, end in itertools.pairwise(edges[: killed + 1]):
        for snap in worker.process(records[start:end]):
            totals.apply_snapshot(snap)
        tables.append(dict(table))
    replacement = GrowthProcessor(dict(tables[restored]), CONFIG, PARTITIONS, clock=lambda: 0.0)
    rest = records[edges[committed] :]
    cuts = sorted({0, len(rest), *(c % (len(rest) + 1) for c in second)})
    for start, end in itertools.pairwise(cuts):
        for snap in replacement.process(rest[start:end]):
            totals.apply_snapshot(snap)
    assert totals.metrics == processed(events, []).metrics
