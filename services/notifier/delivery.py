"""Deliver one message to one destination over HTTP, retrying what may succeed later.

Retries: exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
Jitter"): the n-th wait is uniform in [0, min(cap, base·2^(n-1))]. A ``Retry-After`` header (429,
503, in seconds or as an HTTP date) replaces the backoff: we never come back earlier than the
server asked. 5xx, 408, 425, 429, timeouts and connection errors are retried; other 4xx and 3xx
are permanent and fail at once (retrying a 404 for ten minutes only delays the dead letter).
The budget is whichever comes first: ``max_attempts`` attempts or ``budget_s`` seconds, measured
on the injected clock; a Retry-After that would overrun the budget ends it early.

A small loop rather than tenacity: the wait depends on the failed response (Retry-After), the
budget must run on the injected clock, and each attempt is re-signed with a fresh timestamp;
tenacity would need a custom wait, stop and sleep for all three and save nothing.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import httpx

from vitals.notifier.destinations import Destination, mask_url
from vitals.notifier.errors import PermanentDeliveryError, RetryableDeliveryError
from vitals.notifier.formats import webhook

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 1.0  # first retry within a second: most 5xx blips are that short
BACKOFF_CAP_S = 60.0  # never wait more than a minute between tries without being told to
MAX_ATTEMPTS = 6  # 1 + 5 retries: ~1+2+4+8+16 s of backoff at most, before the cap
RETRY_BUDGET_S = 600.0  # ten minutes: past that an alert is stale; dead-letter it for replay
REQUEST_TIMEOUT_S = 10.0  # Slack/Teams answer in < 1 s when healthy; 10 s means they are not
# Statuses worth another try besides 5xx: request timeout, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})
# How much of an error response body to keep in the delivery log (platform error codes are short).
ERROR_BODY_CHARS = 200

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """The retry schedule; tests shrink ``base_s``/``cap_s`` to milliseconds."""

    base_s: float = BACKOFF_BASE_S
    cap_s: float = BACKOFF_CAP_S
    max_attempts: int = MAX_ATTEMPTS
    budget_s: float = RETRY_BUDGET_S
    timeout_s: float = REQUEST_TIMEOUT_S

    def backoff(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1-based), full jitter."""
        return float(rng() * min(self.cap_s, self.base_s * 2 ** (retry - 1)))


@dataclass(frozen=True)
class Attempt:
    """What one HTTP attempt gave; passed to ``on_attempt`` after each try."""

    number: int
    status_code: int | None
    error: str | None  # None when delivered
    retryable: bool
    wait_s: float | None = None  # the wait before the next attempt, None if none follows


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None
    finished_at: float  # clock() seconds


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds from ``now`` (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _scrub(text: str, url: str) -> str:
    """Remove the webhook URL (and its secret path) from text that may be logged."""
    masked = mask_url(url)
    path = httpx.URL(url).raw_path.decode(errors="replace")
    text = text.replace(url, masked)
    return text.replace(path, "/…") if len(path) > 1 else text


def request_for(
    dest: Destination, payload: Mapping[str, Any], msg_id: str, now: float
) -> tuple[bytes, dict[str, str]]:
    """Body bytes and headers of one attempt; generic webhooks are signed with ``now``."""
    body = webhook.encode(payload)
    headers = {"content-type": webhook.CONTENT_TYPE, "user-agent": "vitals-notifier"}
    if dest.kind == "webhook" and dest.secret is not None:
        headers |= webhook.signed_headers(dest.secret.get_secret_value(), msg_id, int(now), body)
    return body, headers


async def attempt_once(
    client: httpx.AsyncClient,
    dest: Destination,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout_s: float,
    now: float,
) -> int:
    """POST once; return the 2xx status or raise Retryable/PermanentDeliveryError (URL masked)."""
    url = dest.url.get_secret_value()
    where = dest.masked_url
    try:
        response = await client.post(url, content=body, headers=dict(headers), timeout=timeout_s)
    except httpx.TimeoutException:
        raise RetryableDeliveryError(f"{where}: no answer within {timeout_s:g} s") from None
    except httpx.TransportError as err:
        detail = _scrub(str(err), url) or type(err).__name__
        raise RetryableDeliveryError(f"{where}: connection failed ({detail})") from None
    status = response.status_code
    if 200 <= status < 300:
        return status
    snippet = _scrub(response.text[:ERROR_BODY_CHARS], url).strip()
    message = f"{where}: HTTP {status}" + (f" {snippet!r}" if snippet else "")
    if status >= 500 or status in RETRYABLE_4XX:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        raise RetryableDeliveryError(message, status_code=status, retry_after=retry_after)
    if 300 <= status < 400:
        message += ": the webhook URL redirects; set the destination to the final URL"
    elif status in (401, 403, 404, 410):
        message += ": the webhook was revoked or is wrong; recreate it and update the destination"
    raise PermanentDeliveryError(message, status_code=status)


async def deliver(
    client: httpx.AsyncClient,
    dest: Destination,
    payload: Mapping[str, Any],
    msg_id: str,
    *,
    policy: RetryPolicy = RetryPolicy(),
    clock: Clock = time.time,
    sleep: Sleep = asyncio.sleep,
    rng: Callable[[], float] = random.random,
    on_attempt: Callable[[Attempt], Awaitable[None]] | None = None,
) -> DeliveryResult:
    """Send ``payload`` to ``dest`` until it is accepted, permanently refused, or the budget ends.

    ``msg_id`` is the idempotency id (``webhook-id`` for generic webhooks): the same on every
    retry. Never raises for HTTP or network failures; the result says what happened.
    """
    started = clock()
    number = 0
    while True:
        number += 1
        body, headers = request_for(dest, payload, msg_id, clock())
        try:
            status = await attempt_once(
                client, dest, body, headers, timeout_s=policy.timeout_s, now=clock()
            )
        except PermanentDeliveryError as err:
            await _report(on_attempt, Attempt(number, err.status_code, str(err), False))
            return DeliveryResult(False, number, err.status_code, str(err), clock())
        except RetryableDeliveryError as err:
            wait = err.retry_after if err.retry_after is not None else policy.backoff(number, rng)
            elapsed = clock() - started
            reason = str(err)
            if number >= policy.max_attempts:
                reason = f"gave up after {number} attempts; last: {err}"
            elif elapsed + wait > policy.budget_s:
                reason = (
                    f"retry budget of {policy.budget_s:g} s spent after {number} attempts; "
                    f"last: {err}"
                )
            else:
                await _report(on_attempt, Attempt(number, err.status_code, reason, True, wait))
                log.info(
                    "alert %s to %s: attempt %d failed (%s); retry in %.2f s",
                    msg_id,
                    dest.id,
                    number,
                    err,
                    wait,
                )
                await sleep(wait)
                continue
            await _report(on_attempt, Attempt(number, err.status_code, str(err), True))
            return DeliveryResult(False, number, err.status_code, reason, clock())
        await _report(on_attempt, Attempt(number, status, None, False))
        return DeliveryResult(True, number, status, None, clock())


async def _report(callback: Callable[[Attempt], Awaitable[None]] | None, attempt: Attempt) -> None:
    if callback is not None:
        await callback(attempt)


class RedactWebhookUrls(logging.Filter):
    """httpx logs every request's full URL at INFO; webhook URLs are secrets, so mask them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def install_log_redaction() -> None:
    """Attach ``RedactWebhookUrls`` to the ``httpx`` logger once per process."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactWebhookUrls) for f in logger.filters):
        logger.addFilter(RedactWebhookUrls())
