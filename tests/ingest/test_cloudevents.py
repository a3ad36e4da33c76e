"""CloudEvents 1.0 over HTTP in its three modes: binary, structured and batched."""

from __future__ import annotations

import orjson

from vitals.ingest.app import create_app
from vitals.platform.settings import Settings

from .support import MemorySink, post_batch

# The examples of the CloudEvents HTTP binding, with a Vitals type and a customer as subject.
STRUCTURED = {
    "specversion": "1.0",
    "type": "com.example.billing.purchase",
    "source": "https://example.com/billing",
    "id": "A234-1234-1234",
    "time": "2026-11-23T17:31:00Z",
    "subject": "acme",
    "datacontenttype": "application/json",
    "data": {"amount": 49.0, "currency": "EUR", "properties": {"order_id": "o-7"}},
}
EXPECTED = {
    "event_id": "https://example.com/billing#A234-1234-1234",
    "customer_id": "acme",
    "type": "purchase",
    "timestamp": "2026-11-23T17:31:00Z",
    "amount": 49.0,
    "currency": "EUR",
    "properties": {"order_id": "o-7"},
}


async def test_binary_mode_takes_attributes_from_ce_headers_and_data_from_the_body() -> None:
    sink = MemorySink()
    # Binary mode: STRUCTURED's attributes as ce-* headers, its data as the body.
    attributes = {k: v for k, v in STRUCTURED.items() if k not in ("data", "datacontenttype")}
    headers = {
        **{f"ce-{k}": str(v) for k, v in attributes.items()},
        "content-type": "application/json",
    }
    response = await post_batch(
        create_app(Settings(), sink), orjson.dumps(STRUCTURED["data"]), headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    ((key, value),) = sink.records
    assert key == b"acme" and orjson.loads(value) == EXPECTED


async def test_binary_mode_percent_decodes_header_values() -> None:
    sink = MemorySink()
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "com.example.usage",
        "ce-source": "/app",
        "ce-id": "1",
        "ce-time": "2026-11-23T17:31:00Z",
        "ce-subject": "caf%C3%A9%20co",
    }
    response = await post_batch(
        create_app(Settings(), sink), b'{"name": "report.exported"}', headers
    )
    assert response.status_code == 200, response.text
    assert sink.records[0][0] == "café co".encode()


async def test_structured_mode_is_one_event_per_request() -> None:
    sink = MemorySink()
    response = await post_batch(
        create_app(Settings(), sink),
        orjson.dumps(STRUCTURED),
        {"content-type": "application/cloudevents+json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert [orjson.loads(v) for _, v in sink.records] == [EXPECTED]


async def test_batched_mode_takes_an_array_with_partial_success() -> None:
    sink = MemorySink()
    second = {**STRUCTURED, "id": "B-2", "subject": "globex"}
    broken = {**STRUCTURED, "id": "C-3", "type": "com.example.click"}
    response = await post_batch(
        create_app(Settings(), sink),
        orjson.dumps([STRUCTURED, second, broken]),
        {"content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert [r["index"] for r in response.json()["rejected"]] == [2]
    assert [key for key, _ in sink.records] == [b"acme", b"globex"]


async def test_a_single_event_that_cannot_be_mapped_is_400_not_a_silent_200() -> None:
    sink = MemorySink()
    response = await post_batch(
        create_app(Settings(), sink),
        orjson.dumps({**STRUCTURED, "specversion": "0.3"}),
        {"content-type": "application/cloudevents+json"},
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["title"] == "Event rejected"
    assert "specversion" in problem["detail"]
    assert problem["rejected"][0]["index"] == 0
    assert sink.batches == []


async def test_cloudevents_batch_that_is_not_an_array_is_400() -> None:
    response = await post_batch(
        create_app(Settings(), MemorySink()),
        orjson.dumps(STRUCTURED),
        {"content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code == 400
    assert "JSON array" in response.json()["detail"]


async def test_the_structured_media_type_wins_over_stray_ce_headers() -> None:
    sink = MemorySink()
    response = await post_batch(
        create_app(Settings(), sink),
        orjson.dumps(STRUCTURED),
        {"content-type": "application/cloudevents+json", "ce-specversion": "1.0"},
    )
    assert response.status_code == 200, response.text
    assert [orjson.loads(v) for _, v in sink.records] == [EXPECTED]
