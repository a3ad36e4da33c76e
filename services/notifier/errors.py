"""Errors of the alert notifier, retryable apart from permanent.

::

    AlertDeliveryError
    ├── RetryableDeliveryError     the next attempt may succeed: 5xx, 408, 425, 429, timeouts,
    │                              connection errors; carries ``retry_after`` when the server said
    └── PermanentDeliveryError     retrying cannot help: other 4xx, 3xx redirects, a payload the
                                   platform refuses; the alert goes to dead letters at once
    DestinationError               a destination's configuration is wrong (bad URL or secret)

Messages never contain a webhook URL or a signing secret: they carry the masked URL only
(``https://hooks.slack.com/…/AbCd``), so they are safe to log and to show in the API.
"""

from __future__ import annotations


class AlertDeliveryError(Exception):
    """A delivery attempt failed. ``status_code`` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RetryableDeliveryError(AlertDeliveryError):
    """Try again later; ``retry_after`` (seconds) is the server's own wait when it sent one."""

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class PermanentDeliveryError(AlertDeliveryError):
    """Do not retry: fix the destination (URL, permissions, payload), then replay dead letters."""


class DestinationError(ValueError):
    """A destination's configuration is invalid; the message says which field and how to fix it."""
