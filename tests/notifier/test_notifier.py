"""The notifier end to end against a real local HTTP server: routing, isolation between
destinations, dead letters, rate limit, digests, idempotent replays, metrics, secrets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from e2e.services import await_for
from prometheus_client import CollectorRegistry
from standardwebhooks.webhooks import Webhook

from vitals.notifier.deadletter import InMemoryDeadLetterSink
from vitals.notifier.delivery import RetryPolicy
from vitals.notifier.delivery_log import InMemoryDeliveryLog
from vitals.notifier.destinations import Destination, InMemoryDestinationStore, generate_secret
from vitals.notifier.digest import DigestPolicy
from vitals.notifier.metrics import AlertMetrics
from vitals.notifier.notifier import Notifier

from .support import Reply, ScriptedServer, make_alert

FAST = RetryPolicy(base_s=0.01, cap_s=0.05, max_attempts=4, budget_s=30, timeout_s=2)


class Rig:
    def __init__(self, server: ScriptedServer, client: httpx.AsyncClient) -> None:
        self.server = server
        self.client = client
        self.store = InMemoryDestinationStore()
        self.log = InMemoryDeliveryLog()
        self.dead = InMemoryDeadLetterSink()
        self.registry = CollectorRegistry()
        self.metrics = AlertMetrics(self.registry)
        self.notifiers: list[Notifier] = []

    async def add(self, dest_id: str, path: str, *replies: Reply, **fields: Any) -> Destination:
        fields.setdefault("kind", "slack")
        fields.setdefault("rate_per_s", 1000.0)
        dest = Destination.model_validate(
            {"id": dest_id, "url": self.server.script(path, *replies), **fields}
        )
        await self.store.put(dest)
        return dest

    async def notifier(self, **options: Any) -> Notifier:
        options.setdefault("policy", FAST)
        notifier = Notifier(
            self.store, self.client, self.log, self.dead, metrics=self.metrics, **options
        )
        await notifier.start()
        self.notifiers.append(notifier)
        return notifier

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def rig(server: ScriptedServer) -> AsyncIterator[Rig]:
    async with httpx.AsyncClient() as client:
        rig = Rig(server, client)
        yield rig
        for notifier in rig.notifiers:
            await notifier.stop(deadline_s=0)


async def test_alert_is_delivered_and_logged(rig: Rig) -> None:
    await rig.add("sales", "slack/sales0000")
    notifier = await rig.notifier()
    alert = make_alert()
    outcomes = await asyncio.wait_for(await notifier.submit(alert), 5)
    assert outcomes == {"sales": "delivered"}
    (request,) = rig.server.received("slack/sales0000")
    assert request.json()["blocks"][0]["type"] == "header"
    state = await rig.log.get(alert["alert_id"], "sales")
    assert state is not None and state.status == "delivered" and state.attempts == 1
    assert state.delivered_at is not None and state.last_status == 200
    assert rig.metric("vitals_alert_deliveries_total", kind="slack", outcome="delivered") == 1
    assert rig.metric("vitals_alert_delivery_latency_seconds_count", kind="slack") == 1
    assert rig.metric("vitals_alert_delivery_attempts_total", kind="slack", result="ok") == 1


async def test_routing_sends_only_to_matching_destinations(rig: Rig) -> None:
    await rig.add("dana", "slack/dana00000", routing={"owners": ["dana"]})
    await rig.add("crit", "slack/crit00000", routing={"min_severity": "critical"})
    await rig.add("off", "slack/off000000", enabled=False)
    notifier = await rig.notifier()
    outcomes = await asyncio.wait_for(await notifier.submit(make_alert(severity="warning")), 5)
    assert outcomes == {"dana": "delivered"}
    assert await asyncio.wait_for(await notifier.submit(make_alert(owner="lee")), 5) == {}


async def test_down_destination_does_not_delay_another(rig: Rig) -> None:
    # "down" never answers within the timeout; "up" must still deliver at once.
    await rig.add("down", "slack/down00000", *[Reply(delay_s=3)] * 10)
    await rig.add("up", "slack/up0000000")
    policy = RetryPolicy(base_s=0.05, cap_s=0.1, max_attempts=6, budget_s=60, timeout_s=0.5)
    notifier = await rig.notifier(policy=policy)
    alert = make_alert()
    await notifier.submit(alert)
    await await_for(lambda: rig.server.received("slack/up0000000"), timeout=2)
    # "up" was delivered while "down" still waited on its first attempt (0.5 s timeout).
    first = await rig.log.get(alert["alert_id"], "down")
    assert first is None or first.last_error is None
    await await_for(
        lambda: len(rig.server.received("slack/down00000")) >= 2, timeout=3, interval=0.01
    )
    down = await rig.log.get(alert["alert_id"], "down")
    assert (
        down is not None
        and down.status == "retrying"
        and "no answer within" in (down.last_error or "")
    )
    up = await rig.log.get(alert["alert_id"], "up")
    assert up is not None and up.status == "delivered"


async def test_exhausted_retries_land_in_dead_letters_with_reason(rig: Rig) -> None:
    await rig.add("flaky", "slack/flaky0000", *[Reply(500)] * 10)
    notifier = await rig.notifier()
    alert = make_alert()
    outcomes = await asyncio.wait_for(await notifier.submit(alert), 5)
    assert outcomes == {"flaky": "dead"}
    (record,) = rig.dead.records
    assert record["alert"] == alert and record["destination_id"] == "flaky"
    assert "gave up after 4 attempts" in record["reason"] and "HTTP 500" in record["reason"]
    assert len(rig.server.received("slack/flaky0000")) == 4
    state = await rig.log.get(alert["alert_id"], "flaky")
    assert state is not None and state.status == "dead" and state.attempts == 4
    assert rig.metric("vitals_alert_dead_letters_total", kind="slack") == 1


async def test_400_goes_to_dead_letters_without_retry(rig: Rig) -> None:
    await rig.add("bad", "slack/bad000000", Reply(400, body="invalid_blocks"))
    notifier = await rig.notifier()
    outcomes = await asyncio.wait_for(await notifier.submit(make_alert()), 5)
    assert outcomes == {"bad": "dead"}
    assert len(rig.server.received("slack/bad000000")) == 1
    assert "HTTP 400" in rig.dead.records[0]["reason"]
    assert "invalid_blocks" in rig.dead.records[0]["reason"]


async def test_rate_limit_spaces_messages(rig: Rig) -> None:
    await rig.add("slow", "discord/slow0000", kind="discord", rate_per_s=10.0)
    # No digests here: each alert is its own message.
    notifier = await rig.notifier(digest=DigestPolicy(threshold=100))
    # Warm the connection first so TCP set-up does not skew the arrival times.
    await asyncio.wait_for(await notifier.submit(make_alert()), 5)
    await asyncio.sleep(0.1)
    tickets = [await notifier.submit(make_alert()) for _ in range(4)]
    await asyncio.wait_for(asyncio.gather(*tickets), 5)
    times = [r.at for r in rig.server.received("discord/slow0000")][1:]
    assert len(times) == 4
    # 10/s: the i-th message leaves no earlier than i × 100 ms after the first (20 ms slack for
    # the time each request takes to arrive).
    offsets = [t - times[0] for t in times]
    assert all(off >= i * 0.1 - 0.02 for i, off in enumerate(offsets)), offsets


async def test_burst_is_sent_as_one_digest(rig: Rig) -> None:
    await rig.add("team", "slack/team00000", rate_per_s=1.0)
    notifier = await rig.notifier()
    alerts = [make_alert(customer_name=f"Customer {i}") for i in range(6)]
    tickets = [await notifier.submit(a) for a in alerts]
    results = await asyncio.wait_for(asyncio.gather(*tickets), 5)
    assert all(r == {"team": "delivered"} for r in results)
    (request,) = rig.server.received("slack/team00000")
    text = str(request.json()["blocks"])
    assert "6 customer alerts" in text and all(f"Customer {i}" in text for i in range(6))
    for alert in alerts:
        state = await rig.log.get(alert["alert_id"], "team")
        assert state is not None and state.status == "delivered" and state.digest_size == 6
    assert rig.metric("vitals_alert_digests_total", kind="slack") == 1


async def test_generic_webhooks_never_digest_and_are_signed(rig: Rig) -> None:
    secret = generate_secret()
    await rig.add("hook", "wh/hook0000000", kind="webhook", secret=secret)
    notifier = await rig.notifier()
    alerts = [make_alert() for _ in range(5)]
    await asyncio.wait_for(asyncio.gather(*[await notifier.submit(a) for a in alerts]), 5)
    received = rig.server.received("wh/hook0000000")
    assert [Webhook(secret).verify(r.body, r.headers) for r in received] == alerts


async def test_replayed_alert_is_not_delivered_twice(rig: Rig) -> None:
    await rig.add("sales", "slack/sales0000")
    alert = make_alert()
    first = await rig.notifier()
    assert await asyncio.wait_for(await first.submit(alert), 5) == {"sales": "delivered"}
    await first.stop()
    # A restarted notifier reading the same topic again, sharing the delivery log.
    second = await rig.notifier()
    assert await asyncio.wait_for(await second.submit(alert), 5) == {"sales": "duplicate"}
    assert len(rig.server.received("slack/sales0000")) == 1
    assert rig.metric("vitals_alert_deliveries_total", kind="slack", outcome="duplicate") == 1


async def test_stop_drains_queued_alerts_within_the_deadline(rig: Rig) -> None:
    await rig.add("sales", "slack/sales0000", kind="discord", rate_per_s=20.0)
    notifier = await rig.notifier(digest=DigestPolicy(threshold=100))
    tickets = [await notifier.submit(make_alert()) for _ in range(3)]
    assert await notifier.stop(deadline_s=5) == 0
    assert all(t.done() and t.result() == {"sales": "delivered"} for t in tickets)
    with pytest.raises(RuntimeError, match="start"):
        await notifier.submit(make_alert())


async def test_stop_deadline_abandons_what_is_still_retrying(rig: Rig) -> None:
    await rig.add("down", "slack/down00000", *[Reply(503)] * 50)
    policy = RetryPolicy(base_s=0.2, cap_s=0.2, max_attempts=50, budget_s=60, timeout_s=1)
    notifier = await rig.notifier(policy=policy)
    ticket = await notifier.submit(make_alert())
    assert await notifier.stop(deadline_s=0.3) == 1
    assert ticket.done() and ticket.result()["down"] in ("failed", "abandoned")


async def test_secrets_absent_from_logs(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await rig.add("s1", "T0SECRET/B0SECRET/okSECRET")
    await rig.add("s2", "T1SECRET/B1SECRET/badSECRET", Reply(500), Reply(403, body="invalid_token"))
    notifier = await rig.notifier()
    result = await asyncio.wait_for(await notifier.submit(make_alert()), 5)
    assert result == {"s1": "delivered", "s2": "dead"}
    messages = [r.getMessage() for r in caplog.records]
    assert any("dead letter" in m for m in messages) and any("HTTP Request" in m for m in messages)
    assert all("SECRET" not in m for m in messages)
    assert "SECRET" not in rig.dead.records[0]["reason"]
