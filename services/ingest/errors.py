"""Errors of the ingest service, each one HTTP problem (RFC 9457, application/problem+json).

IngestError                 status, title, detail, headers
├── BadBatch                400  the body is not {"batch": [...]}: fix the client
├── BadEvent                400  the one event of a single-event request broke the contract
├── BatchTooLarge           413  split the batch (limits.py)
├── UnsupportedEncoding     415  send gzip, deflate or an uncompressed body
├── BadSignature            400  a Stripe webhook whose signature or timestamp does not verify
├── DoorClosed              404  a door that is not configured (Stripe without its secret)
├── Unauthorized            401  send a key
├── Forbidden               403  the key lacks the ingest scope
└── SinkUnavailable         503  retryable: Kafka did not take the write; retry after
                                 ``retry_after`` seconds with the same event_ids
"""

from __future__ import annotations

from typing import Any

from vitals.platform.problems import problem_body

from .limits import RETRY_AFTER_S


class IngestError(Exception):
    status_code = 500
    title = "Internal error"
    slug = "internal"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def problem(self) -> dict[str, Any]:
        return problem_body(self.status_code, self.title, self.detail, self.slug)


class BadBatch(IngestError):
    status_code = 400
    title = "Malformed batch"
    slug = "bad-batch"


class BadEvent(IngestError):
    """A request carrying one event (a CloudEvent in binary or structured mode) whose event was
    rejected: answered 400, not 200, so its sender does not count it as delivered."""

    status_code = 400
    title = "Event rejected"
    slug = "bad-event"

    def __init__(self, detail: str, rejected: list[dict[str, object]]) -> None:
        super().__init__(detail)
        self.rejected = rejected

    def problem(self) -> dict[str, Any]:
        return {**super().problem(), "rejected": self.rejected}


class BatchTooLarge(IngestError):
    status_code = 413
    title = "Batch too large"
    slug = "batch-too-large"


class UnsupportedEncoding(IngestError):
    status_code = 415
    title = "Unsupported content encoding"
    slug = "unsupported-encoding"


class BadSignature(IngestError):
    status_code = 400
    title = "Signature not verified"
    slug = "bad-signature"


class DoorClosed(IngestError):
    status_code = 404
    title = "Not configured"
    slug = "not-configured"


class Unauthorized(IngestError):
    status_code = 401
    title = "API key required"
    slug = "unauthorized"

    def __init__(self, detail: str) -> None:
        # Basic too: Segment's and RudderStack's SDKs send the write key as the Basic user name.
        super().__init__(detail, {"WWW-Authenticate": 'Bearer, Basic realm="vitals-ingest"'})


class Forbidden(IngestError):
    status_code = 403
    title = "Missing scope"
    slug = "forbidden"


class SinkUnavailable(IngestError):
    """Kafka could not take the write. Nothing in the batch is confirmed: some events may still
    land, so the client resends the whole batch with the same event_ids (dedup is by event_id)."""

    status_code = 503
    title = "Event log unavailable"
    slug = "unavailable"

    def __init__(self, detail: str, reason: str, retry_after: int = RETRY_AFTER_S) -> None:
        super().__init__(detail, {"Retry-After": str(retry_after)})
        self.reason = reason  # not_connected | timeout | kafka_error: the metric label
        self.retry_after = retry_after
