"""One message to one destination, against a real local HTTP server with scripted replies."""

from __future__ import annotations

import email.utils
import logging
import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from vitals.notifier.delivery import (
    Attempt,
    RetryPolicy,
    deliver,
    install_log_redaction,
    parse_retry_after,
)
from vitals.notifier.destinations import Destination, generate_secret

from .support import Reply, ScriptedServer, make_alert

FAST = RetryPolicy(base_s=0.01, cap_s=0.05, max_attempts=5, budget_s=10, timeout_s=2)


def dest_for(url: str, kind: str = "slack", **extra: object) -> Destination:
    return Destination.model_validate({"id": "d1", "kind": kind, "url": url, **extra})


async def test_500s_then_200_is_delivered_on_the_third_attempt(server: ScriptedServer) -> None:
    url = server.script("slack/T1/B1/tok3n", Reply(500), Reply(502), Reply(200))
    attempts: list[Attempt] = []

    async def record(a: Attempt) -> None:
        attempts.append(a)

    async with httpx.AsyncClient() as client:
        result = await deliver(
            client, dest_for(url), {"text": "hi"}, "a1", policy=FAST, on_attempt=record
        )
    assert result.delivered and result.attempts == 3 and result.status_code == 200
    assert [a.status_code for a in attempts] == [500, 502, 200]
    assert [a.retryable for a in attempts] == [True, True, False]
    assert len(server.received("slack/T1/B1/tok3n")) == 3


async def test_slow_endpoint_times_out_and_is_retried(server: ScriptedServer) -> None:
    url = server.script("slow/hook0000", Reply(delay_s=1.0), Reply(200))
    policy = RetryPolicy(base_s=0.01, cap_s=0.01, max_attempts=3, budget_s=10, timeout_s=0.2)
    async with httpx.AsyncClient() as client:
        result = await deliver(client, dest_for(url), {"text": "hi"}, "a1", policy=policy)
    assert result.delivered and result.attempts == 2


async def test_429_retry_after_is_honoured_before_the_next_attempt(server: ScriptedServer) -> None:
    url = server.script("limited/hook0000", Reply(429, headers={"Retry-After": "1"}), Reply(200))
    async with httpx.AsyncClient() as client:
        result = await deliver(client, dest_for(url), {"text": "hi"}, "a1", policy=FAST)
    first, second = server.received("limited/hook0000")
    assert result.delivered and result.attempts == 2
    # FAST's backoff is ≤ 50 ms, so only Retry-After explains a gap of a full second.
    assert second.at - first.at >= 1.0


async def test_400_is_permanent_and_not_retried(server: ScriptedServer) -> None:
    url = server.script("bad/hook00000", Reply(400, body="invalid_payload"))
    async with httpx.AsyncClient() as client:
        result = await deliver(client, dest_for(url), {"text": "hi"}, "a1", policy=FAST)
    assert not result.delivered and result.attempts == 1 and result.status_code == 400
    assert "invalid_payload" in (result.error or "")
    assert len(server.received("bad/hook00000")) == 1


async def test_exhausted_attempts_give_up_with_the_reason(server: ScriptedServer) -> None:
    url = server.script("down/hook0000", *[Reply(503)] * 10)
    async with httpx.AsyncClient() as client:
        result = await deliver(client, dest_for(url), {"text": "hi"}, "a1", policy=FAST)
    assert not result.delivered and result.attempts == FAST.max_attempts
    assert result.error is not None and "gave up after 5 attempts" in result.error
    assert "HTTP 503" in result.error


async def test_retry_after_beyond_budget_ends_at_once(server: ScriptedServer) -> None:
    url = server.script("later/hook0000", Reply(503, headers={"Retry-After": "3600"}))
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        result = await deliver(client, dest_for(url), {"text": "hi"}, "a1", policy=FAST)
    assert time.monotonic() - started < 1
    assert not result.delivered and "retry budget of 10 s spent" in (result.error or "")


async def test_connection_refused_is_retried_then_given_up() -> None:
    # Port 9 on loopback: nothing listens there on this machine (discard service not installed).
    policy = RetryPolicy(base_s=0.01, cap_s=0.01, max_attempts=3, budget_s=5, timeout_s=1)
    async with httpx.AsyncClient() as client:
        result = await deliver(
            client, dest_for("http://127.0.0.1:9/hooks/secretpath"), {}, "a1", policy=policy
        )
    assert not result.delivered and result.attempts == 3
    assert "connection failed" in (result.error or "")
    assert "secretpath" not in (result.error or "")


async def test_generic_webhook_is_signed_per_attempt_with_a_stable_id(
    server: ScriptedServer,
) -> None:
    secret = generate_secret()
    url = server.script("wh/receiver000", Reply(500), Reply(204))
    alert = make_alert()
    dest = dest_for(url, kind="webhook", secret=secret)
    async with httpx.AsyncClient() as client:
        result = await deliver(client, dest, alert, alert["alert_id"], policy=FAST)
    assert result.delivered
    for request in server.received("wh/receiver000"):
        assert request.headers["webhook-id"] == alert["alert_id"]
        assert Webhook(secret).verify(request.body, request.headers) == alert


async def test_webhook_url_never_reaches_logs_or_errors(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    install_log_redaction()
    url = server.script(
        "T0SECRET/B0SECRET/xoxSECRETtoken", Reply(500, body="boom"), Reply(404, body="no_service")
    )
    async with httpx.AsyncClient() as client:
        result = await deliver(client, dest_for(url), {"text": "hi"}, "a1", policy=FAST)
    assert not result.delivered
    assert "SECRET" not in (result.error or "")
    assert "no_service" in (result.error or "")
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log
    assert all("SECRET" not in r.getMessage() for r in caplog.records)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = time.time()
    assert parse_retry_after("2", now) == 2.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (parse_retry_after(date, now) or 0) <= 31
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("nan", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_is_full_jitter_capped() -> None:
    policy = RetryPolicy(base_s=1, cap_s=60)
    assert [policy.backoff(n, rng=lambda: 1.0) for n in (1, 2, 3, 7, 8)] == [1, 2, 4, 60, 60]
    assert policy.backoff(5, rng=lambda: 0.5) == 8
    assert policy.backoff(3, rng=lambda: 0.0) == 0
