"""The HTTP ingest service: ``POST /v1/batch`` validates events and writes them to Kafka.

Answers (docs/ingest.md has the whole table, door by door):
- 200 ``{"accepted": n, "rejected": [{"index", "event_id", "error"}], "ignored": [{"index",
  "event_id", "reason"}]}``: every accepted event is acknowledged by Kafka (acks=all) before the
  answer; rejected ones broke the contract and are not written (fix them, do not resend as is);
  ignored ones are well-formed calls with nothing to score. Partial success is normal.
- 400 the body is not ``{"batch": [...]}`` (nor a CloudEvents form), a compressed body is
  corrupt, or a single CloudEvent is rejected; 413 over ``limits.MAX_BATCH_EVENTS`` events or
  ``limits.MAX_BODY_BYTES`` bytes (on the wire or decompressed); 415 an unknown
  Content-Encoding; 401/403 API key; 503 + Retry-After: Kafka did not take the write, nothing is
  confirmed, resend the whole batch (event_id makes resends harmless).
Items may be contract events, Segment/RudderStack calls or CloudEvents (adapters.py); the body
may be gzip or deflate. ``POST /v1/stripe/webhook`` takes Stripe's webhooks (stripe_webhook.py).
All errors are application/problem+json. /healthz (process up), /readyz (Kafka reachable) and
/metrics (Prometheus) need no key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import Headers

from vitals.platform import problems
from vitals.platform.apikeys import ApiKeys
from vitals.platform.http_metrics import MetricsMiddleware
from vitals.platform.settings import Settings

from . import cloudevents, stripe_map
from .adapters import Adapters
from .auth import header_key, require_ingest
from .body import read_body
from .errors import (
    BadBatch,
    BadEvent,
    BadSignature,
    BatchTooLarge,
    DoorClosed,
    Forbidden,
    IngestError,
    SinkUnavailable,
    Unauthorized,
)
from .intake import Outcome, intake
from .limits import MAX_BATCH_EVENTS, RETRY_AFTER_S
from .metrics import IngestMetrics
from .producer import EventSink, KafkaEventSink, ManagedSink
from .stripe_webhook import SIGNATURE_HEADER, verify

BATCH_DESCRIPTION = (
    'Body: {"batch": [event, ...]} (contract events, Segment/RudderStack calls or CloudEvents), '
    "or one CloudEvent in binary (ce-* headers) or structured mode, or a CloudEvents batch "
    "(application/cloudevents-batch+json); gzip or deflate Content-Encoding accepted. "
    "Key: Bearer, Basic (key as user name), X-API-Key or writeKey in the body."
)

log = logging.getLogger(__name__)

BATCH_ROUTE = "/v1/batch"
STRIPE_ROUTE = "/v1/stripe/webhook"


def create_app(
    settings: Settings,
    sink: EventSink | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The ingest app. ``sink`` defaults to a ``KafkaEventSink(settings)``; a sink with a
    lifecycle (``ManagedSink``) is started and stopped by the app's lifespan either way.

    ``clock``: Unix seconds now, for the future-timestamp check (``max_future_skew_s``).
    (The server runner, platform.serve, freezes start-up objects out of the GC.)
    """
    event_sink: EventSink = sink if sink is not None else KafkaEventSink(settings)
    keys = ApiKeys.from_spec(settings.api_keys.get_secret_value())
    adapters = Adapters.from_settings(settings)
    metrics = IngestMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if isinstance(event_sink, ManagedSink):
            await event_sink.start()
        try:
            yield
        finally:
            if isinstance(event_sink, ManagedSink):
                await event_sink.stop()

    app = FastAPI(
        title="Vitals ingest",
        summary="POST customer events; they are validated and written to Kafka.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sink = event_sink
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics.http)
    _add_problem_handlers(app)

    @app.post(
        BATCH_ROUTE,
        summary="Validate a batch of events and write the valid ones to Kafka",
        description=BATCH_DESCRIPTION,
    )
    async def post_batch(request: Request) -> Response:
        headers = request.headers
        key = header_key(headers.get("authorization"), headers.get("x-api-key"))
        try:
            if key is not None or not keys.enabled:
                require_ingest(keys, key)  # refuse before reading a byte
            body = await read_body(
                request.stream(), headers.get("content-length"), headers.get("content-encoding")
            )
            try:
                items, single, body_key = _items(headers, body)
            except BadBatch:
                if key is None:
                    require_ingest(keys, None)  # no key anywhere: 401 before any 400
                raise
            if key is None and keys.enabled:
                require_ingest(keys, body_key)
        except IngestError as err:
            if isinstance(err, BatchTooLarge):
                metrics.batches.labels(outcome="too_large").inc()
            elif not isinstance(err, Unauthorized | Forbidden):
                metrics.batches.labels(outcome="bad_request").inc()
            raise
        outcome = intake(items, adapters.to_contract, clock(), settings.max_future_skew_s)
        if single and outcome.rejected:
            # One CloudEvent per request: a 2xx would tell its sender it was delivered.
            _count(metrics, outcome)
            metrics.batches.labels(outcome="bad_request").inc()
            raise BadEvent(outcome.rejected[0]["error"], outcome.rejected)
        await _write(event_sink, metrics, outcome)
        return Response(orjson.dumps(outcome.answer()), media_type="application/json")

    stripe_secret = settings.stripe_webhook_secret.get_secret_value()
    customer_key = settings.stripe_customer_id_key

    @app.post(
        STRIPE_ROUTE,
        summary="Stripe webhook endpoint: subscription events from Stripe Billing",
        description="Verified with the endpoint's signing secret (Stripe-Signature); no API key.",
    )
    async def post_stripe(request: Request) -> Response:
        if not stripe_secret:
            raise DoorClosed(
                "the Stripe door is closed: set VITALS_STRIPE_WEBHOOK_SECRET to this endpoint's "
                "signing secret (whsec_...)"
            )
        headers = request.headers
        body = await read_body(
            request.stream(), headers.get("content-length"), headers.get("content-encoding")
        )
        try:
            verify(
                body,
                headers.get(SIGNATURE_HEADER),
                stripe_secret,
                settings.stripe_webhook_tolerance_s,
            )
        except BadSignature:
            metrics.batches.labels(outcome="bad_signature").inc()
            raise
        event = _json(body)
        if not isinstance(event, dict):
            raise BadBatch("a Stripe event is a JSON object")
        outcome = intake(
            [event],
            lambda raw: stripe_map.to_contract(raw, customer_key),
            clock(),
            settings.max_future_skew_s,
        )
        if outcome.rejected:
            # Signed by Stripe yet not mappable: a non-2xx keeps it visible in Stripe's
            # dashboard and retried, instead of dropped.
            _count(metrics, outcome)
            log.warning("stripe event rejected", extra={"rejected": outcome.rejected})
            raise BadEvent(outcome.rejected[0]["error"], outcome.rejected)
        await _write(event_sink, metrics, outcome)
        return Response(orjson.dumps(outcome.answer()), media_type="application/json")

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/readyz", summary="Ready to accept events: Kafka reachable")
    async def readyz() -> Response:
        ready = await event_sink.ready() if isinstance(event_sink, ManagedSink) else True
        if not ready:
            raise SinkUnavailable("Kafka is not reachable from this ingest instance", "not_ready")
        return Response(b'{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _items(headers: Headers, body: bytes) -> tuple[list[Any], bool, str | None]:
    """(items, one event per request, key in the body) of a ``/v1/batch`` body, whichever of
    its forms: ``{"batch": [...]}`` (with Segment's ``writeKey``) or CloudEvents binary,
    structured or batched."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    payload = _json(body)
    # The CloudEvents media types first: the HTTP binding says they decide the mode even when
    # ce-* headers are present too.
    if media_type == cloudevents.STRUCTURED_MEDIA_TYPE:
        if not isinstance(payload, dict):
            raise BadBatch("a structured-mode CloudEvent must be a JSON object")
        return [payload], True, None
    if media_type == cloudevents.BATCH_MEDIA_TYPE:
        if not isinstance(payload, list):
            raise BadBatch("a CloudEvents batch must be a JSON array of events")
        return _within_limit(payload), False, None
    if "ce-specversion" in headers:
        if not isinstance(payload, dict):
            raise BadBatch("a binary-mode CloudEvent's body (its data) must be a JSON object")
        return [cloudevents.from_binary(headers, payload)], True, None
    if not isinstance(payload, dict) or "batch" not in payload:
        raise BadBatch('the body must be a JSON object {"batch": [event, ...]}')
    batch = payload["batch"]
    if not isinstance(batch, list):
        raise BadBatch('"batch" must be a JSON array of events')
    write_key = payload.get("writeKey")
    return _within_limit(batch), False, write_key if isinstance(write_key, str) else None


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise BadBatch(f'the body is not JSON ({err}); send {{"batch": [event, ...]}}') from None


def _within_limit(batch: list[Any]) -> list[Any]:
    if len(batch) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(
            f"{len(batch)} events; a batch holds at most {MAX_BATCH_EVENTS}: split it"
        )
    return batch


def _count(metrics: IngestMetrics, outcome: Outcome) -> None:
    for field, is_object in outcome.reject_fields:
        metrics.rejected(field, is_object)
    if outcome.ignored:
        metrics.events_ignored.inc(len(outcome.ignored))


async def _write(sink: EventSink, metrics: IngestMetrics, outcome: Outcome) -> None:
    """Write the accepted records (200 only after Kafka acked them all) and count the outcome."""
    _count(metrics, outcome)
    if outcome.records:
        try:
            await sink.send_batch(outcome.records)
        except SinkUnavailable as err:
            metrics.produce_failures.labels(reason=err.reason).inc()
            metrics.batches.labels(outcome="unavailable").inc()
            log.warning(
                "batch not written", extra={"reason": err.reason, "events": len(outcome.records)}
            )
            raise
    metrics.events_accepted.inc(len(outcome.records))
    metrics.batches.labels(outcome="accepted").inc()


def _add_problem_handlers(app: FastAPI) -> None:
    async def on_ingest_error(request: Request, err: Exception) -> Response:
        assert isinstance(err, IngestError)
        return Response(
            orjson.dumps(err.problem()),
            status_code=err.status_code,
            headers=err.headers,
            media_type=problems.PROBLEM_MEDIA_TYPE,
        )

    # Every other error the platform way; a 500 tells the SDKs when to retry.
    problems.install(app, retry_after_s=RETRY_AFTER_S)
    app.add_exception_handler(IngestError, on_ingest_error)
