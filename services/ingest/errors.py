"""Errors of the ingest service, each one HTTP problem (RFC 9457, application/problem+json).

IngestError                 status, title, detail, headers
├── BadBatch                400  the body is not {"batch": [...]}: fix the client
├── BatchTooLarge           413  split the batch (limits.py)
├── Unauthorized            401  send a key
├── Forbidden               403  the key lacks the ingest scope
└── SinkUnavailable         503  retryable: Kafka did not take the write; retry after
                                 ``retry_after`` seconds with the same event_ids
"""

from __future__ import annotations

from .limits import RETRY_AFTER_S

PROBLEM_MEDIA_TYPE = "application/problem+json"


class IngestError(Exception):
    status_code = 500
    title = "Internal error"
    slug = "internal"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def problem(self) -> dict[str, object]:
        return {
            "type": f"urn:vitals:problem:{self.slug}",
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
        }


class BadBatch(IngestError):
    status_code = 400
    title = "Malformed batch"
    slug = "bad-batch"


class BatchTooLarge(IngestError):
    status_code = 413
    title = "Batch too large"
    slug = "batch-too-large"


class Unauthorized(IngestError):
    status_code = 401
    title = "API key required"
    slug = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, {"WWW-Authenticate": "Bearer"})


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
