"""The HTTP ingest service: ``POST /v1/batch`` validates events and writes them to Kafka.

Answers:
- 200 ``{"accepted": n, "rejected": [{"index", "event_id", "error"}]}``: every accepted event is
  acknowledged by Kafka (acks=all) before the answer; rejected ones broke the contract and are not
  written (fix them, do not resend as is). Partial success is normal.
- 400 the body is not ``{"batch": [...]}``; 413 over ``limits.MAX_BATCH_EVENTS`` events or
  ``limits.MAX_BODY_BYTES`` bytes; 401/403 API key; 503 + Retry-After: Kafka did not take the
  write, nothing is confirmed, resend the whole batch (event_id makes resends harmless).
Items may also be Segment track/group calls or CloudEvents (adapters.py).
All errors are application/problem+json. /healthz (process up), /readyz (Kafka reachable) and
/metrics (Prometheus) need no key.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from vitals.core.apikeys import INGEST_SCOPE, ApiKeys, presented_key
from vitals.core.events import InvalidEvent, parse_event
from vitals.core.settings import Settings

from .adapters import to_contract
from .errors import (
    PROBLEM_MEDIA_TYPE,
    BadBatch,
    BatchTooLarge,
    Forbidden,
    IngestError,
    SinkUnavailable,
    Unauthorized,
)
from .limits import MAX_BATCH_EVENTS, MAX_BODY_BYTES, RETRY_AFTER_S
from .metrics import IngestMetrics
from .producer import EventSink, KafkaEventSink, ManagedSink, Record

log = logging.getLogger(__name__)

BATCH_ROUTE = "/v1/batch"
KNOWN_ROUTES = frozenset({BATCH_ROUTE, "/healthz", "/readyz", "/metrics"})


def create_app(
    settings: Settings,
    sink: EventSink | None = None,
    *,
    freeze_gc_after_startup: bool = False,
) -> FastAPI:
    """The ingest app. ``sink`` defaults to a ``KafkaEventSink(settings)``; a sink with a
    lifecycle (``ManagedSink``) is started and stopped by the app's lifespan either way.

    ``freeze_gc_after_startup``: move start-up objects out of the garbage collector's reach
    (``gc.freeze()``), which cut tail latency under load (NOTES); for the server, not for tests.
    """
    event_sink: EventSink = sink if sink is not None else KafkaEventSink(settings)
    keys = ApiKeys.from_spec(settings.api_keys.get_secret_value())
    metrics = IngestMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if isinstance(event_sink, ManagedSink):
            await event_sink.start()
        if freeze_gc_after_startup:
            gc.collect()
            gc.freeze()
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
    app.add_middleware(_LatencyMiddleware, metrics=metrics)
    _add_problem_handlers(app)

    async def require_ingest_key(request: Request) -> None:
        key = presented_key(request.headers.get("authorization"), request.headers.get("x-api-key"))
        access = keys.check(key, INGEST_SCOPE)
        if access == "missing":
            raise Unauthorized("send your key as 'Authorization: Bearer <key>'")
        if access == "unknown":
            raise Unauthorized("this key is not configured; check VITALS_API_KEYS")
        if access == "forbidden":
            raise Forbidden(f"this key lacks the '{INGEST_SCOPE}' scope")

    @app.post(
        BATCH_ROUTE,
        summary="Validate a batch of events and write the valid ones to Kafka",
        dependencies=[Depends(require_ingest_key)],
    )
    async def post_batch(request: Request) -> Response:
        try:
            batch = _parse_batch(await _read_body(request))
        except IngestError as err:
            outcome = "too_large" if isinstance(err, BatchTooLarge) else "bad_request"
            metrics.batches.labels(outcome=outcome).inc()
            raise
        records: list[Record] = []
        rejected: list[dict[str, Any]] = []
        for index, raw in enumerate(batch):
            try:
                mapped = to_contract(raw)
                event = parse_event(mapped)
            except InvalidEvent as err:
                rejected.append({"index": index, "event_id": err.event_id, "error": str(err)})
                metrics.rejected(err.field, isinstance(raw, dict))
                continue
            # The value is the event exactly as received (validated, nothing added); Segment
            # calls and CloudEvents as mapped onto the contract.
            records.append((event.customer_id.encode("utf-8"), orjson.dumps(mapped)))
        if records:
            try:
                await event_sink.send_batch(records)
            except SinkUnavailable as err:
                metrics.produce_failures.labels(reason=err.reason).inc()
                metrics.batches.labels(outcome="unavailable").inc()
                log.warning(
                    "batch not written", extra={"reason": err.reason, "events": len(records)}
                )
                raise
        metrics.events_accepted.inc(len(records))
        metrics.batches.labels(outcome="accepted").inc()
        body = {"accepted": len(records), "rejected": rejected}
        return Response(orjson.dumps(body), media_type="application/json")

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


async def _read_body(request: Request) -> bytes:
    """The body, refusing more than MAX_BODY_BYTES whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadBatch("Content-Length is not a number")
        if int(declared) > MAX_BODY_BYTES:
            raise BatchTooLarge(_too_large_detail(f"{int(declared)} bytes"))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BatchTooLarge(_too_large_detail(f"more than {MAX_BODY_BYTES} bytes"))
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_batch(body: bytes) -> list[Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise BadBatch(f'the body is not JSON ({err}); send {{"batch": [event, ...]}}') from None
    if not isinstance(payload, dict) or "batch" not in payload:
        raise BadBatch('the body must be a JSON object {"batch": [event, ...]}')
    batch = payload["batch"]
    if not isinstance(batch, list):
        raise BadBatch('"batch" must be a JSON array of events')
    if len(batch) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(
            f"{len(batch)} events; a batch holds at most {MAX_BATCH_EVENTS}: split it"
        )
    return batch


def _too_large_detail(size: str) -> str:
    return f"the body is {size}; at most {MAX_BODY_BYTES} bytes per request: split the batch"


def problem_response(
    status: int, title: str, detail: str, slug: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "type": f"urn:vitals:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _add_problem_handlers(app: FastAPI) -> None:
    async def on_ingest_error(request: Request, err: Exception) -> Response:
        assert isinstance(err, IngestError)
        return Response(
            orjson.dumps(err.problem()),
            status_code=err.status_code,
            headers=err.headers,
            media_type=PROBLEM_MEDIA_TYPE,
        )

    async def on_http_error(request: Request, err: Exception) -> Response:
        assert isinstance(err, StarletteHTTPException)
        return problem_response(
            err.status_code,
            str(err.detail),
            f"{request.method} {request.url.path}: {err.detail}",
            "http",
            dict(err.headers or {}),
        )

    async def on_unexpected(request: Request, err: Exception) -> Response:
        log.exception("unexpected error", extra={"path": request.url.path})
        return problem_response(
            500,
            "Internal error",
            f"an unexpected error; it was logged. Retry after {RETRY_AFTER_S} s",
            "internal",
            {"Retry-After": str(RETRY_AFTER_S)},
        )

    app.add_exception_handler(IngestError, on_ingest_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


class _LatencyMiddleware:
    """Request latency per route (pure ASGI: no per-request task like BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp, metrics: IngestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        route = path if path in KNOWN_ROUTES else "other"
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.metrics.request_seconds.labels(route=route).observe(time.perf_counter() - started)
