"""POST /v1/batch against a test double of the sink: shapes, limits, statuses, auth, metrics.
Kafka itself is exercised in test_kafka.py."""

from __future__ import annotations

import json

import orjson
import pytest
from pydantic import SecretStr

from vitals.ingest.app import create_app
from vitals.ingest.limits import MAX_BATCH_EVENTS, MAX_BODY_BYTES, RETRY_AFTER_S
from vitals.platform.settings import Settings

from .support import MemorySink, event, post_batch, running

PROBLEM = "application/problem+json"


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


def make_app(sink: MemorySink, **settings: object):  # type: ignore[no-untyped-def]
    return create_app(Settings(**settings), sink)  # type: ignore[arg-type]


async def test_valid_batch_is_written_keyed_by_customer_and_counted(sink: MemorySink) -> None:
    batch = [event(1, "acme"), event(2, "globex"), event(3, "acme")]
    async with running(make_app(sink)) as client:
        response = await client.post("/v1/batch", json={"batch": batch})
    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "rejected": [], "ignored": []}
    assert len(sink.batches) == 1  # one send per request: one wait for all acks
    assert [key for key, _ in sink.records] == [b"acme", b"globex", b"acme"]
    assert [orjson.loads(value) for _, value in sink.records] == batch


async def test_value_is_the_event_as_received_without_added_fields(sink: MemorySink) -> None:
    sent = event(1, user_id=None, properties={"nested": {"a": [1, 2.5, "é"]}})
    async with running(make_app(sink)) as client:
        await client.post("/v1/batch", json={"batch": [sent]})
    ((_key, value),) = sink.records
    assert orjson.loads(value) == sent
    assert set(orjson.loads(value)) == set(sent)  # no defaults such as "score": null


async def test_partial_success_reports_rejected_indexes_and_writes_the_rest(
    sink: MemorySink,
) -> None:
    batch = [
        event(0),
        event(1, timestamp="2026-11-23 18:30:00"),
        "not an event",
        event(3, type="feedback", name="nps", score=11),
        event(4, customer="globex"),
        {**event(5), "extra": 1},
    ]
    async with running(make_app(sink)) as client:
        response = await client.post("/v1/batch", json={"batch": batch})
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 5]
    assert [r["event_id"] for r in body["rejected"]] == ["evt-1", None, "evt-3", "evt-5"]
    assert body["rejected"][0]["error"].startswith("timestamp: must be an RFC 3339 date-time")
    assert body["rejected"][2]["error"] == "score: nps scores run from 0 to 10"
    assert [orjson.loads(v)["event_id"] for _, v in sink.records] == ["evt-0", "evt-4"]


async def test_all_rejected_writes_nothing_and_answers_200(sink: MemorySink) -> None:
    async with running(make_app(sink)) as client:
        response = await client.post("/v1/batch", json={"batch": [{"type": "usage"}]})
    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert sink.batches == []


async def test_empty_batch_is_accepted_as_nothing(sink: MemorySink) -> None:
    async with running(make_app(sink)) as client:
        response = await client.post("/v1/batch", json={"batch": []})
    assert response.json() == {"accepted": 0, "rejected": [], "ignored": []}
    assert sink.batches == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "the body is not JSON"),
        (b"", "the body is not JSON"),
        (b"[1, 2]", 'must be a JSON object {"batch"'),
        (b'{"events": []}', 'must be a JSON object {"batch"'),
        (b'{"batch": {"a": 1}}', '"batch" must be a JSON array'),
        (b'{"batch": null}', '"batch" must be a JSON array'),
        ('{"batch": "\udcff"}'.encode("utf-8", "surrogatepass"), "the body is not JSON"),
    ],
)
async def test_body_that_is_not_a_batch_is_400_problem(
    sink: MemorySink, body: bytes, detail: str
) -> None:
    response = await post_batch(make_app(sink), body, {"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Malformed batch"
    assert detail in problem["detail"]
    assert sink.batches == []


async def test_batch_over_event_limit_returns_413(sink: MemorySink) -> None:
    batch = [event(i) for i in range(MAX_BATCH_EVENTS + 1)]
    async with running(make_app(sink)) as client:
        at_limit = await client.post("/v1/batch", json={"batch": batch[:MAX_BATCH_EVENTS]})
        over = await client.post("/v1/batch", json={"batch": batch})
    assert at_limit.status_code == 200 and at_limit.json()["accepted"] == MAX_BATCH_EVENTS
    assert over.status_code == 413
    assert over.headers["content-type"] == PROBLEM
    assert f"at most {MAX_BATCH_EVENTS}" in over.json()["detail"]
    assert len(sink.batches) == 1


def _padded_body(size: int) -> bytes:
    """A valid one-event batch padded with spaces to exactly ``size`` bytes."""
    body = orjson.dumps({"batch": [event(1)]})
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def test_body_over_byte_limit_returns_413_and_at_limit_passes(sink: MemorySink) -> None:
    async with running(make_app(sink)) as client:
        at_limit = await client.post("/v1/batch", content=_padded_body(MAX_BODY_BYTES))
        over = await client.post("/v1/batch", content=_padded_body(MAX_BODY_BYTES + 1))
    assert at_limit.status_code == 200
    assert over.status_code == 413
    assert over.headers["content-type"] == PROBLEM
    assert len(sink.batches) == 1


async def test_declared_content_length_over_limit_is_refused_before_reading(
    sink: MemorySink,
) -> None:
    content_length = {"content-length": str(MAX_BODY_BYTES + 1)}
    response = await post_batch(make_app(sink), b'{"batch": []}', content_length)
    assert response.status_code == 413


async def test_body_larger_than_its_content_length_claims_is_still_refused(
    sink: MemorySink,
) -> None:
    body = _padded_body(MAX_BODY_BYTES + 10)

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async with running(make_app(sink)) as client:
        # Streamed without a length (chunked): only the bytes actually read can tell.
        response = await client.post("/v1/batch", content=chunks())
    assert response.status_code == 413
    assert sink.batches == []


async def test_content_length_claiming_less_than_the_body_does_not_fool_the_limit(
    sink: MemorySink,
) -> None:
    body = _padded_body(MAX_BODY_BYTES + 10)
    response = await post_batch(make_app(sink), body, {"content-length": "100"})
    assert response.status_code == 413
    assert sink.batches == []


async def test_non_numeric_content_length_is_400(sink: MemorySink) -> None:
    async with running(make_app(sink)) as client:
        response = await client.post(
            "/v1/batch", content=b'{"batch": []}', headers={"content-length": "12abc"}
        )
    assert response.status_code == 400


async def test_sink_unavailable_is_503_with_retry_after_never_200(sink: MemorySink) -> None:
    sink.fail_with = "timeout"
    async with running(make_app(sink)) as client:
        response = await client.post("/v1/batch", json={"batch": [event(1), {"bad": 1}]})
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.headers["content-type"] == PROBLEM
    assert 'vitals_ingest_produce_failures_total{reason="timeout"} 1.0' in metrics
    assert 'vitals_ingest_batches_total{outcome="unavailable"} 1.0' in metrics
    assert "vitals_ingest_events_accepted_total 0.0" in metrics


async def test_metrics_count_accepted_rejected_by_field_batches_and_latency(
    sink: MemorySink,
) -> None:
    batch = [event(1), event(2, timestamp="yesterday"), [], {**event(4), "zzz": 1}]
    async with running(make_app(sink)) as client:
        await client.post("/v1/batch", json={"batch": batch})
        await client.post("/v1/batch", content=b"nope")
        text = (await client.get("/metrics")).text
    assert "vitals_ingest_events_accepted_total 1.0" in text
    assert 'vitals_ingest_events_rejected_total{reason="timestamp"} 1.0' in text
    assert 'vitals_ingest_events_rejected_total{reason="not_object"} 1.0' in text
    assert 'vitals_ingest_events_rejected_total{reason="unknown_field"} 1.0' in text
    assert 'vitals_ingest_batches_total{outcome="accepted"} 1.0' in text
    assert 'vitals_ingest_batches_total{outcome="bad_request"} 1.0' in text
    route = 'method="POST",route="/v1/batch"'
    assert f"vitals_ingest_request_duration_seconds_count{{{route}}} 2.0" in text
    assert f'vitals_ingest_requests_total{{{route},status="400"}} 1.0' in text


async def test_healthz_and_readyz_answer_without_kafka_for_a_plain_sink(sink: MemorySink) -> None:
    async with running(make_app(sink)) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert health.status_code == ready.status_code == 200


KEYS = SecretStr(
    "writer-key-0123456789:ingest;reader-key-0123456789:read;boss-key-0123456789:admin"
)


async def test_open_when_no_keys_are_configured(sink: MemorySink) -> None:
    async with running(make_app(sink)) as client:
        response = await client.post("/v1/batch", json={"batch": [event(1)]})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer guess"}, {"Authorization": "Basic d3JpdGVyOg=="}],
)
async def test_missing_or_unknown_key_is_401_problem(
    sink: MemorySink, headers: dict[str, str]
) -> None:
    async with running(make_app(sink, api_keys=KEYS)) as client:
        response = await client.post("/v1/batch", json={"batch": [event(1)]}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer, Basic")
    assert response.headers["content-type"] == PROBLEM
    assert sink.batches == []


async def test_key_without_ingest_scope_is_403(sink: MemorySink) -> None:
    async with running(make_app(sink, api_keys=KEYS)) as client:
        response = await client.post(
            "/v1/batch",
            json={"batch": [event(1)]},
            headers={"Authorization": "Bearer reader-key-0123456789"},
        )
    assert response.status_code == 403
    assert "'ingest'" in response.json()["detail"]
    assert sink.batches == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer writer-key-0123456789"},
        {"authorization": "bearer writer-key-0123456789"},
        {"X-API-Key": "writer-key-0123456789"},
        {"Authorization": "Bearer boss-key-0123456789"},
    ],
)
async def test_ingest_or_admin_key_is_let_in(sink: MemorySink, headers: dict[str, str]) -> None:
    async with running(make_app(sink, api_keys=KEYS)) as client:
        response = await client.post("/v1/batch", json={"batch": [event(1)]}, headers=headers)
        probes = [await client.get(path) for path in ("/healthz", "/readyz", "/metrics")]
    assert response.status_code == 200
    assert [p.status_code for p in probes] == [200, 200, 200]


async def test_unknown_route_and_wrong_method_are_problems(sink: MemorySink) -> None:
    async with running(make_app(sink)) as client:
        missing = await client.get("/v2/batch")
        method = await client.get("/v1/batch")
    assert (missing.status_code, method.status_code) == (404, 405)
    assert missing.headers["content-type"] == method.headers["content-type"] == PROBLEM


async def test_openapi_lists_the_batch_route(sink: MemorySink) -> None:
    async with running(make_app(sink)) as client:
        spec = json.loads((await client.get("/openapi.json")).text)
    assert "/v1/batch" in spec["paths"]
