"""Issue 8, bad clocks: an event from further in the future than the configured skew is rejected
alone, with a clear error; the rest of the batch is written."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from vitals.ingest.app import create_app
from vitals.platform.settings import Settings

from .support import MemorySink, event, running

NOW = datetime(2026, 11, 23, 18, 30, tzinfo=UTC).timestamp()


def at(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(NOW + seconds_from_now, UTC).isoformat()


async def test_future_event_beyond_the_skew_is_rejected_and_the_rest_written() -> None:
    sink = MemorySink()
    app = create_app(Settings(max_future_skew_s=300), sink, clock=lambda: NOW)
    batch = [
        event(1, timestamp=at(-86400)),
        event(2, timestamp=at(300)),  # exactly at the limit: accepted
        event(3, timestamp=at(3600)),
        event(4, timestamp=at(0)),
        {
            "type": "track",
            "messageId": "seg-5",
            "event": "x",
            "timestamp": at(86400 * 365),
            "userId": "u",
            "context": {"groupId": "acme"},
        },
    ]
    async with running(app) as client:
        response = await client.post("/v1/batch", json={"batch": batch})
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 3
    assert [(r["index"], r["event_id"]) for r in body["rejected"]] == [(2, "evt-3"), (4, "seg-5")]
    error = body["rejected"][0]["error"]
    assert error.startswith("timestamp: ") and "3600 s ahead of the ingest clock" in error
    assert "at most 300 s" in error and "VITALS_MAX_FUTURE_SKEW_S" in error
    assert [orjson.loads(v)["event_id"] for _, v in sink.records] == ["evt-1", "evt-2", "evt-4"]
    assert 'vitals_ingest_events_rejected_total{reason="timestamp"} 2.0' in metrics


@pytest.mark.parametrize(("skew", "accepted"), [(0, 0), (7200, 1)])
async def test_the_skew_is_a_setting(skew: float, accepted: int) -> None:
    sink = MemorySink()
    app = create_app(Settings(max_future_skew_s=skew), sink, clock=lambda: NOW)
    async with running(app) as client:
        response = await client.post("/v1/batch", json={"batch": [event(1, timestamp=at(60))]})
    assert response.json()["accepted"] == accepted


def test_the_default_skew_is_five_minutes() -> None:
    assert Settings().max_future_skew_s == 300
