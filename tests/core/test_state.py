from __future__ import annotations

import hashlib
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.events import parse_event
from vitals.core.fold import apply_event
from vitals.core.state import STATE_FORMAT, CustomerState, id_hash, name_hash

from .conftest import EventFactory
from .test_fold import bounded_shuffle


def test_fresh_state_round_trips() -> None:
    state = CustomerState("acme")
    assert CustomerState.from_bytes(state.to_bytes()) == state


def test_round_trip_keeps_every_kind_of_field(make: EventFactory) -> None:
    state = CustomerState("acme ✓")
    events = [
        make.usage(1, user_id="u1"),
        make.purchase(2, amount=12.5, currency="EUR"),
        make.subscription(3, "started", amount=99.0),
        make.subscription(4, "payment_failed"),
        make.support(5, "ticket_opened"),
        make.feedback(6, "nps", 9.0),
        make.profile(7, plan="pro", seats=10, renewal_date="2027-01-01", owner=None),
    ]
    for i, event in enumerate(events):
        apply_event(state, event, DEFAULT_CONFIG, (2, 100 + i, 0))
    state.alerts = {"gone_quiet": [1.0, 3.0, 1_767_225_600.0]}
    state.next_check_ts = 1_767_300_000.5
    restored = CustomerState.from_bytes(state.to_bytes())
    assert restored == state
    # Types survive, not just values: int digests stay int keys, positions stay lists.
    assert all(isinstance(k, int) for k in restored.seen_ids)
    assert restored.position == [2, 106, 0]
    assert restored.profile["seats"] == 10 and isinstance(restored.profile["seats"], int)


def test_round_trip_of_64_bit_digests_at_the_extremes() -> None:
    state = CustomerState("acme", seen_ids={0: 1.0, 2**64 - 1: 2.0}, features={2**32 - 1: 3.0})
    assert CustomerState.from_bytes(state.to_bytes()) == state


def test_unknown_format_is_refused_with_the_version_in_the_message() -> None:
    data = msgpack.packb([STATE_FORMAT + 1, "acme"])
    with pytest.raises(ValueError, match=str(STATE_FORMAT + 1)):
        CustomerState.from_bytes(data)


def test_digests_are_stable_across_processes() -> None:
    # blake2b, not Python's salted hash(): the same id must map to the same key after a restart.
    expected = int.from_bytes(hashlib.blake2b(b"ev-1", digest_size=8).digest(), "little")
    assert id_hash("ev-1") == expected != id_hash("ev-2")
    name_digest = hashlib.blake2b(b"report.exported", digest_size=4).digest()
    assert name_hash("report.exported") == int.from_bytes(name_digest, "little")


@settings(max_examples=60, deadline=None)
@given(streams=bounded_shuffle())
def test_state_round_trips_after_many_random_events(
    streams: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    _, arrival = streams
    state = CustomerState("acme")
    for offset, raw in enumerate(arrival):
        apply_event(state, parse_event(raw), DEFAULT_CONFIG, (0, offset, 0))
        if offset % 7 == 0:  # and in the middle, as the changelog would store it
            assert CustomerState.from_bytes(state.to_bytes()) == state
    data = state.to_bytes()
    restored = CustomerState.from_bytes(data)
    assert restored == state
    assert restored.to_bytes() == data  # byte-stable: re-serialising changes nothing
