"""Segment calls and CloudEvents mapped onto the event contract (Segment in depth:
test_segment.py; CloudEvents' HTTP modes: test_cloudevents.py)."""

from __future__ import annotations

import orjson
import pytest

from vitals.core.events import InvalidEvent, parse_event
from vitals.ingest.adapters import Adapters
from vitals.ingest.app import create_app
from vitals.ingest.mapped import Ignored
from vitals.platform.settings import Settings

from .support import MemorySink, event, running

TRACK = {
    "type": "track",
    "messageId": "ajs-next-1",
    "event": "Report Exported",
    "userId": "u-42",
    "timestamp": "2026-11-23T18:30:00.000Z",
    "properties": {"format": "pdf"},
    "context": {"groupId": "acme", "library": {"name": "analytics.js"}},
}
to_contract = Adapters.from_settings(Settings()).to_contract
to_contract_b2c = Adapters.from_settings(Settings(ingest_customer_model="b2c")).to_contract

CLOUDEVENT = {
    "specversion": "1.0",
    "id": "A234-1234-1234",
    "source": "/billing/eu",
    "type": "com.example.purchase",
    "time": "2026-11-23T18:30:00Z",
    "subject": "acme",
    "datacontenttype": "application/json",
    "data": {"amount": 49.0, "currency": "EUR"},
}


def test_contract_event_passes_through_unchanged() -> None:
    raw = event(1)
    assert to_contract(raw) is raw


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(
            TRACK,
            {
                "event_id": "ajs-next-1",
                "customer_id": "acme",
                "type": "usage",
                "timestamp": "2026-11-23T18:30:00.000Z",
                "name": "Report Exported",
                "user_id": "u-42",
                "properties": {"format": "pdf"},
            },
            id="segment-track-is-usage-with-message-id-as-event-id",
        ),
        pytest.param(
            CLOUDEVENT,
            {
                "event_id": "/billing/eu#A234-1234-1234",
                "customer_id": "acme",
                "type": "purchase",
                "timestamp": "2026-11-23T18:30:00Z",
                "amount": 49.0,
                "currency": "EUR",
            },
            id="cloudevent-source-and-id-make-the-event-id-type-suffix-the-type",
        ),
    ],
)
def test_foreign_call_maps_onto_this_contract_event(
    call: dict[str, object], expected: dict[str, object]
) -> None:
    mapped = to_contract(call)
    assert mapped == expected
    assert parse_event(mapped).customer_id == "acme"


@pytest.mark.parametrize(
    ("model", "changes", "customer"),
    [
        ("b2b", {"context": {}, "properties": {"customer_id": "globex"}}, "globex"),
        ("b2c", {}, "u-42"),  # B2C: the user is the customer, whatever the group
        ("b2c", {"userId": None, "properties": {"customer_id": "p-1"}}, "p-1"),
    ],
)
def test_segment_track_customer_follows_the_customer_model(
    model: str, changes: dict[str, object], customer: str
) -> None:
    mapper = to_contract if model == "b2b" else to_contract_b2c
    assert mapper({**TRACK, **changes})["customer_id"] == customer


def test_b2b_track_from_a_user_without_account_is_rejected_saying_how_to_fix() -> None:
    with pytest.raises(
        InvalidEvent, match=r"context\.groupId or properties\.customer_id"
    ) as caught:
        to_contract({**TRACK, "context": {}})
    assert caught.value.field == "customer_id" and caught.value.event_id == "ajs-next-1"


@pytest.mark.parametrize("mapper", [to_contract, to_contract_b2c])
def test_anonymous_calls_are_ignored_not_rejected(mapper) -> None:  # type: ignore[no-untyped-def]
    anonymous = {**TRACK, "userId": None, "anonymousId": "anon-1", "context": {}}
    assert isinstance(mapper(anonymous), Ignored)


def test_segment_group_becomes_profile() -> None:
    call = {
        "type": "group",
        "messageId": "m-9",
        "groupId": "acme",
        "timestamp": "2026-11-23T18:30:00Z",
        "traits": {"name": "Acme Corp", "plan": "pro", "seats": 40},
    }
    event_ = parse_event(to_contract(call))
    assert (event_.type, event_.customer_id, event_.event_id) == ("profile", "acme", "m-9")


def test_segment_identify_is_ignored_in_b2b_mode() -> None:
    ignored = to_contract({"type": "identify", "messageId": "m-1", "userId": "u"})
    assert isinstance(ignored, Ignored) and ignored.event_id == "m-1"


def test_segment_track_without_timestamp_fails_the_contract() -> None:
    call = {k: v for k, v in TRACK.items() if k != "timestamp"}
    with pytest.raises(InvalidEvent, match="timestamp: required"):
        parse_event(to_contract(call))


def test_cloudevent_long_source_gets_a_stable_hashed_event_id() -> None:
    long = {**CLOUDEVENT, "source": "https://example.com/" + "x" * 200}
    first, second = to_contract(long)["event_id"], to_contract(dict(long))["event_id"]
    assert first == second and first.startswith("ce:") and len(first) <= 128
    assert to_contract({**long, "id": "other"})["event_id"] != first


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"type": "com.example.click"}, "must end in one of"),
        ({"id": ""}, "needs string source and id"),
        ({"data": [1]}, "data must be a JSON object"),
    ],
)
def test_cloudevent_that_cannot_be_mapped_is_rejected(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidEvent, match=message):
        to_contract({**CLOUDEVENT, **changes})


async def test_batch_mixes_contract_segment_and_cloudevents() -> None:
    sink = MemorySink()
    batch = [
        event(1),
        TRACK,
        CLOUDEVENT,
        {"type": "alias", "messageId": "p"},
        {"type": "track", "userId": "u"},
    ]
    async with running(create_app(Settings(), sink)) as client:
        response = await client.post("/v1/batch", json={"batch": batch})
    assert response.json()["accepted"] == 3
    assert [r["index"] for r in response.json()["rejected"]] == [4]
    assert response.json()["ignored"] == [
        {"index": 3, "event_id": "p", "reason": "alias calls link identities; nothing to score"}
    ]
    values = [orjson.loads(value) for _, value in sink.records]
    assert [v["event_id"] for v in values] == ["evt-1", "ajs-next-1", "/billing/eu#A234-1234-1234"]
    assert [key for key, _ in sink.records] == [b"acme", b"acme", b"acme"]
