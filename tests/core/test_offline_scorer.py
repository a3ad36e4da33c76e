from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitals.core.events import Event, parse_event
from vitals.scorer.offline import OfflineScorer

from .conftest import EventFactory, at

# The same pseudo-random multi-customer stream, built identically here and in a subprocess.
STREAM_SCRIPT = """
import random, sys
from datetime import UTC, datetime, timedelta
from vitals.core.events import parse_event

def stream(seed, customers=25, events=600):
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(events):
        day = 200 * i / events + rng.uniform(0, 0.5)
        raw = {
            "event_id": f"e{i}",
            "customer_id": f"c{rng.randrange(customers)}",
            "timestamp": (t0 + timedelta(days=day)).isoformat().replace("+00:00", "Z"),
        }
        kind = rng.choice(["usage"] * 6 + ["purchase", "subscription", "support", "feedback",
                                            "profile"])
        raw["type"] = kind
        if kind == "usage":
            raw.update(name=f"f{rng.randrange(8)}", user_id=f"u{rng.randrange(5)}")
        elif kind == "purchase":
            raw.update(amount=round(rng.uniform(5, 200), 2), currency="EUR")
        elif kind == "subscription":
            raw.update(name=rng.choice(["started", "renewed", "renewed", "upgraded", "downgraded",
                       "payment_failed", "cancellation_requested", "cancelled"]), amount=49.0)
        elif kind == "support":
            raw.update(name=rng.choice(["ticket_opened", "ticket_escalated", "ticket_closed"]))
        elif kind == "feedback":
            raw.update(name="nps", score=float(rng.randrange(11)))
        else:
            raw.update(properties={"plan": rng.choice(["pro", "team"]),
                                   "seats": rng.randrange(1, 20),
                                   "renewal_date": "2026-09-01"})
        out.append(parse_event(raw))
    return out
"""

SNAPSHOT_DIGEST = """
import hashlib, orjson
from vitals.scorer.offline import OfflineScorer
engine = OfflineScorer()
engine.apply_all(stream(7))
blob = b"".join(orjson.dumps(engine.snapshot(c)) for c in sorted(engine.customer_ids()))
print(hashlib.sha256(blob).hexdigest())
"""


def _stream(seed: int) -> list[Event]:
    namespace: dict[str, Any] = {}
    exec(STREAM_SCRIPT, namespace)  # the very code the subprocess runs
    events: list[Event] = namespace["stream"](seed)
    return events


def _digest(engine: OfflineScorer) -> str:
    blob = b"".join(orjson.dumps(engine.snapshot(c)) for c in sorted(engine.customer_ids()))
    return hashlib.sha256(blob).hexdigest()


def test_two_fresh_engines_give_identical_snapshots_and_json_bytes() -> None:
    events = _stream(7)
    first, second = OfflineScorer(), OfflineScorer()
    first.apply_all(events)
    second.apply_all(list(events))
    assert first.watermark == second.watermark
    for customer in first.customer_ids():
        for now in (None, first.watermark + 86_400 * 45):
            a, b = first.snapshot(customer, now), second.snapshot(customer, now)
            assert a == b
            assert orjson.dumps(a) == orjson.dumps(b)


def test_snapshots_do_not_depend_on_the_process_hash_seed() -> None:
    """Same bytes in two subprocesses with different PYTHONHASHSEED: no set/hash order leaks in."""
    root = Path(__file__).resolve().parents[2]
    digests = set()
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", STREAM_SCRIPT + SNAPSHOT_DIGEST],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            timeout=60,
            check=True,
        )
        digests.add(result.stdout.strip())
    engine = OfflineScorer()
    engine.apply_all(_stream(7))
    assert digests == {_digest(engine)}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), now_offset_days=st.floats(0, 400))
def test_scores_are_deterministic_for_any_stream_and_clock(
    seed: int, now_offset_days: float
) -> None:
    events = _stream(seed)
    first, second = OfflineScorer(), OfflineScorer()
    first.apply_all(events)
    second.apply_all(events)
    now = first.watermark + now_offset_days * 86_400
    for customer in first.customer_ids():
        assert orjson.dumps(first.snapshot(customer, now)) == orjson.dumps(
            second.snapshot(customer, now)
        )


def test_replaying_the_stream_with_positions_changes_nothing() -> None:
    events = _stream(3)
    engine = OfflineScorer()
    for offset, event in enumerate(events):
        assert engine.apply(event, (0, offset, 0)).status in {"applied", "late"}
    before = _digest(engine)
    # A crash before the commit: the consumer re-reads the last 200 records.
    for offset in range(len(events) - 200, len(events)):
        assert engine.apply(events[offset], (0, offset, 0)).status == "replayed"
    assert _digest(engine) == before


def test_redelivered_events_change_only_the_duplicate_count() -> None:
    events = _stream(5)
    clean, noisy = OfflineScorer(), OfflineScorer()
    clean.apply_all(events)
    rng = random.Random(0)
    for event in events:
        noisy.apply(event)
        if rng.random() < 0.2:
            assert noisy.apply(event).status == "duplicate"
    for customer in clean.customer_ids():
        a, b = clean.snapshot(customer), noisy.snapshot(customer)
        b["stats"]["duplicates"] = a["stats"]["duplicates"]
        assert a == b


def test_watermark_advances_only_with_applied_events(make: EventFactory) -> None:
    engine = OfflineScorer()
    engine.apply(make.usage(10))
    assert engine.watermark == at(10)
    engine.apply(make.usage(5))  # late: more than a day behind this customer's latest event
    assert engine.watermark == at(10)
    assert engine.snapshot("acme")["as_of_ts"] == at(10)  # default clock: the watermark


def test_apply_reports_the_status_and_customer(make: EventFactory) -> None:
    engine = OfflineScorer()
    event = make.usage(1)
    assert (engine.apply(event).status, engine.apply(event).status) == ("applied", "duplicate")
    assert engine.apply(event).customer_id == "acme"


def test_unknown_customer_snapshot_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        OfflineScorer().snapshot("nobody")


def test_refit_records_its_version_in_every_snapshot() -> None:
    engine = OfflineScorer()
    engine.apply_all(_stream(11))
    params = engine.refit()
    snap = engine.snapshot(next(iter(engine.customer_ids())))
    assert snap["params_version"] == params.version != "prior"


def test_wall_clock_mode_is_recorded(make: EventFactory) -> None:
    engine = OfflineScorer(clock="wall")
    engine.apply(parse_event(make.raw("usage", 1, name="x")))
    assert engine.snapshot("acme", now=at(2))["clock"] == "wall"
