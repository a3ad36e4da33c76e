"""Golden bytes of every customer-state format: the stored layout is a contract with every RocksDB
and changelog already written. Reordering, renaming or retyping a field changes the bytes below
and fails here; a new format version adds a golden file and a migration from the previous one.

To add a format: bump STATE_FORMAT, write ``golden/state-v<N>.msgpack`` from ``golden_state()``
(``python -m tests.core.test_state_golden``) and add a migration test for the previous version.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.fold import apply_event
from vitals.core.state import STATE_FORMAT, CustomerState

from .conftest import EventFactory, at

GOLDEN = Path(__file__).parent / "golden"


def golden_state() -> CustomerState:
    """A state with every kind of field filled, from events as a tenant sends them."""
    make = EventFactory("acme ✓")
    events = [
        make.usage(1, user_id="u1"),
        make.usage(1.5, name="dashboard.viewed", user_id="u2"),
        make.purchase(2, amount=12.5, currency="USD", properties={"order_id": "o-1"}),
        make.purchase(2.0001, amount=7.5, properties={"order_id": "o-1"}),
        make.purchase(9, amount=30.0),
        make.purchase(9.5, name="refund", amount=5.0),
        make.subscription(
            3, "started", amount=99.0, properties={"interval": "month", "renewal_count": 2}
        ),
        make.subscription(33, "renewed", amount=99.0),
        make.subscription(34, "payment_failed"),
        make.subscription(35, "downgraded", amount=49.0),
        make.subscription(36, "cancellation_requested"),
        make.support(5, "ticket_opened"),
        make.support(5.5, "ticket_escalated"),
        make.support(6, "ticket_closed"),
        make.feedback(6, "nps", 9.0),
        make.feedback(6.5, "csat", 2.0),
        make.profile(7, plan="pro", seats=10, renewal_date="2027-01-01", owner="dana"),
    ]
    state = CustomerState("acme ✓")
    for i, event in enumerate(sorted(events, key=lambda e: e.ts)):
        assert apply_event(state, event, DEFAULT_CONFIG, (2, 100 + i, 0)) == "applied"
    state.alerts = {"gone_quiet": [1.0, 3.0, 1_767_225_600.0]}
    state.next_check_ts = 1_767_300_000.5
    return state


def test_the_current_format_encodes_to_its_golden_bytes() -> None:
    golden = (GOLDEN / f"state-v{STATE_FORMAT}.msgpack").read_bytes()
    assert golden_state().to_bytes() == golden
    assert CustomerState.from_bytes(golden) == golden_state()


def test_format_2_migrates_to_the_current_format() -> None:
    state = CustomerState.from_bytes((GOLDEN / "state-v2.msgpack").read_bytes())
    assert state.customer_id == "acme ✓"
    # v2 counted purchase events: each becomes a transaction (2 purchases, both EUR, no rate).
    assert (state.purchases, state.purchase_events) == (2, 2)
    assert state.spend_total == 42.5 and state.first_purchase_amount == 12.5
    # v2's transaction count included the two paid subscription events.
    assert (state.payments, state.payments_spend) == (2, 198.0)
    assert state.txn_count == 4
    # A subscriber with MRR paid; its billing anchor is its last positive event.
    assert state.sub_paid_ts > 0 and state.billing_anchor_ts == state.sub_positive_ts
    assert state.renewals_survived == 1
    # Ids are kept until their event time plus v2's one-day window.
    assert sorted(state.seen_ids.values()) == [at(35) + 86_400.0, at(36) + 86_400.0]
    assert state.profile == {
        "plan": "pro",
        "seats": 10,
        "renewal_date": "2027-01-01",
        "owner": "dana",
        "segment": "smb",
        "name": "Acme",
    }
    assert CustomerState.from_bytes(state.to_bytes()) == state


if __name__ == "__main__":
    target = GOLDEN / f"state-v{STATE_FORMAT}.msgpack"
    target.write_bytes(golden_state().to_bytes())
    print(f"wrote {target}", file=sys.stderr)
