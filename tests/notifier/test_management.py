"""Alert management end to end: the API writes destinations, acks and snoozes into the real
Redis; a notifier on the same Redis honours them against a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis.asyncio import Redis

from vitals.api.app import create_app
from vitals.notifier.acks import AckStore, InMemoryAckStore
from vitals.notifier.deadletter import InMemoryDeadLetterSink
from vitals.notifier.delivery import RetryPolicy
from vitals.notifier.delivery_log import InMemoryDeliveryLog, RedisDeliveryLog
from vitals.notifier.destinations import (
    Destination,
    InMemoryDestinationStore,
    RedisDestinationStore,
)
from vitals.notifier.history import AlertHistory, InMemoryAlertHistory
from vitals.notifier.metrics import AlertMetrics
from vitals.notifier.notifier import Notifier
from vitals.platform.settings import Settings

from .support import Reply, ScriptedServer, make_alert

FAST = RetryPolicy(base_s=0.01, cap_s=0.05, max_attempts=3, budget_s=10, timeout_s=2)
KEYS = SecretStr("reader-key:read;boss-key:admin")
ADMIN = {"Authorization": "Bearer boss-key"}
READER = {"Authorization": "Bearer reader-key"}
REFRESH_S = 15.0


class Clock:
    """A monotonic clock the test moves by hand (the notifier's destination refresh)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registry() -> CollectorRegistry:
    """The notifier's metrics, apart from every other test's."""
    return CollectorRegistry()


@asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"api_keys": KEYS}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vitals.test") as c:
            yield c


@asynccontextmanager
async def redis_notifier(
    redis: Redis, registry: CollectorRegistry, monotonic: Clock | None = None
) -> AsyncIterator[Notifier]:
    async with httpx.AsyncClient() as client:
        notifier = Notifier(
            RedisDestinationStore(redis),
            client,
            RedisDeliveryLog(redis),
            InMemoryDeadLetterSink(),
            policy=FAST,
            metrics=AlertMetrics(registry),
            history=AlertHistory(redis),
            acks=AckStore(redis),
            refresh_s=REFRESH_S,
            monotonic=monotonic or time.monotonic,
        )
        await notifier.start()
        try:
            yield notifier
        finally:
            await notifier.stop(deadline_s=0)


async def _send(notifier: Notifier, alert: dict[str, Any]) -> dict[str, str]:
    return await asyncio.wait_for(await notifier.submit(alert), 5)


async def _put_slack(client: httpx.AsyncClient, dest_id: str, url: str) -> None:
    body = {"kind": "slack", "url": url, "rate_per_s": 1000}
    answer = await client.put(f"/v1/destinations/{dest_id}", json=body, headers=ADMIN)
    assert answer.status_code in (200, 201), answer.text


async def test_acked_alert_is_not_delivered_and_the_log_says_acked(
    settings: Settings, redis: Redis, server: ScriptedServer, registry: CollectorRegistry
) -> None:
    delivered = make_alert(customer_id="acme", rule="at_risk")
    pending = make_alert(customer_id="acme", rule="payment_failed")
    async with api_client(settings) as api:
        await _put_slack(api, "cs", server.url("slack/cs-000000000000"))
        async with redis_notifier(redis, registry) as notifier:
            assert await _send(notifier, delivered) == {"cs": "delivered"}
            # The alert is known (recorded when first taken) and a CSM acks it before delivery.
            await AlertHistory(redis).record(pending)
            ack = await api.post(
                f"/v1/alerts/{pending['alert_id']}/ack", json={"by": "dana"}, headers=READER
            )
            assert ack.status_code == 200
            assert await _send(notifier, pending) == {"cs": "acked"}
            assert await _send(notifier, pending) == {"cs": "acked"}  # a replay too
            # Acking a delivered alert: a destination added later does not get it on replay.
            await api.post(f"/v1/alerts/{delivered['alert_id']}/ack", headers=READER)
            await _put_slack(api, "ops", server.url("slack/ops-000000000000"))
            await notifier._refresh(force=True)
            assert await _send(notifier, delivered) == {"cs": "duplicate", "ops": "acked"}
        view = (await api.get(f"/v1/alerts/{pending['alert_id']}", headers=READER)).json()
    assert len(server.received("slack/cs-000000000000")) == 1
    assert server.received("slack/ops-000000000000") == []
    state = await RedisDeliveryLog(redis).get(pending["alert_id"], "cs")
    assert state is not None and state.status == "acked" and state.attempts == 0
    assert view["deliveries"] == [
        {**state.model_dump(exclude={"alert_id"}), "destination_id": "cs", "status": "acked"}
    ]
    assert view["acknowledged"]["by"] == "dana" and view["held_back"] == "acked"
    suppressed = registry.get_sample_value("vitals_alert_suppressed_total", {"reason": "acked"})
    assert suppressed == 3  # pending twice, delivered once (per alert, not per destination)
    outcome = {"kind": "slack", "outcome": "acked"}
    assert registry.get_sample_value("vitals_alert_deliveries_total", outcome) == 3


async def test_snooze_holds_back_alerts_raised_before_until_and_not_after(
    settings: Settings, redis: Redis, server: ScriptedServer, registry: CollectorRegistry
) -> None:
    until = time.time() + 3600
    path = "slack/snooze-0000000000"

    def quiet(raised_at_ts: float, rule: str = "gone_quiet") -> dict[str, Any]:
        return make_alert(customer_id="acme", rule=rule, raised_at_ts=raised_at_ts)

    first, before, after, other_rule = (
        quiet(time.time()),
        quiet(until - 1),
        quiet(until + 1),
        quiet(until - 1, "at_risk"),
    )
    async with api_client(settings) as api:
        await _put_slack(api, "cs", server.url(path))
        async with redis_notifier(redis, registry) as notifier:
            assert await _send(notifier, first) == {"cs": "delivered"}
            iso = datetime.fromtimestamp(until, UTC).isoformat()
            snooze = await api.post(
                f"/v1/alerts/{first['alert_id']}/snooze", params={"until": iso}, headers=READER
            )
            assert snooze.status_code == 200
            assert await _send(notifier, before) == {"cs": "snoozed"}
            assert await _send(notifier, after) == {"cs": "delivered"}
            assert await _send(notifier, other_rule) == {"cs": "delivered"}
            state = await RedisDeliveryLog(redis).get(before["alert_id"], "cs")
            assert state is not None and state.status == "snoozed"
            # Lifting the snooze: a replay of the held-back alert is delivered after all.
            await api.delete(f"/v1/alerts/{first['alert_id']}/snooze", headers=READER)
            assert await _send(notifier, before) == {"cs": "delivered"}
        listed = (await api.get("/v1/alerts?customer_id=acme", headers=READER)).json()["alerts"]
    sent = [r.json()["text"] for r in server.received(path)]
    assert len(sent) == 4
    assert [v["alert"]["alert_id"] for v in listed] == [
        after["alert_id"],
        # Same raise time: ties are listed by id, newest-first order of the index.
        *sorted([before["alert_id"], other_rule["alert_id"]], reverse=True),
        first["alert_id"],
    ]
    assert registry.get_sample_value("vitals_alert_suppressed_total", {"reason": "snoozed"}) == 1


async def test_destination_changes_reach_a_running_notifier_within_the_refresh_interval(
    settings: Settings, redis: Redis, server: ScriptedServer
) -> None:
    clock = Clock()
    path = "slack/late-00000000000"
    async with api_client(settings) as api:
        async with redis_notifier(redis, CollectorRegistry(), monotonic=clock) as notifier:
            nowhere = make_alert()
            assert await _send(notifier, nowhere) == {}
            await _put_slack(api, "cs", server.url(path))
            clock.now += REFRESH_S - 1
            assert await _send(notifier, make_alert()) == {}  # still the cached list
            clock.now += 1
            assert await _send(notifier, make_alert()) == {"cs": "delivered"}
            assert (await api.delete("/v1/destinations/cs", headers=ADMIN)).status_code == 204
            clock.now += REFRESH_S
            assert await _send(notifier, make_alert()) == {}
        # Routed nowhere, yet in the history.
        listed = (await api.get("/v1/alerts", headers=READER)).json()["alerts"]
    assert len(server.received(path)) == 1
    assert nowhere["alert_id"] in [v["alert"]["alert_id"] for v in listed]
    assert len(listed) == 4


async def test_test_send_goes_through_the_real_format_and_hides_the_url(
    settings: Settings, server: ScriptedServer
) -> None:
    good = server.url("slack/test-ok-SECRET00")
    bad = server.script("slack/test-gone-SECRET", Reply(404, "no_service"))
    async with api_client(settings) as api:
        await _put_slack(api, "good", good)
        await _put_slack(api, "bad", bad)
        ok = await api.post("/v1/destinations/good/test", headers=ADMIN)
        gone = await api.post("/v1/destinations/bad/test", headers=ADMIN)
        unknown = await api.post("/v1/destinations/none/test", headers=ADMIN)
    assert ok.status_code == 200 and ok.json()["delivered"] is True
    assert ok.json()["status_code"] == 200
    (request,) = server.received("slack/test-ok-SECRET00")
    assert request.json()["blocks"][0]["type"] == "header"
    assert "Test alert" in request.json()["text"]
    assert gone.json()["delivered"] is False and gone.json()["status_code"] == 404
    assert "revoked" in gone.json()["error"]
    assert len(server.received("slack/test-gone-SECRET")) == 1  # one attempt, no retries
    assert unknown.status_code == 404
    for answer in (ok, gone):
        assert "SECRET" not in answer.text


async def test_time_from_predicted_crossing_to_delivery_is_measured_per_kind(
    server: ScriptedServer, registry: CollectorRegistry
) -> None:
    now = time.time()
    store = InMemoryDestinationStore(
        [
            Destination.model_validate(
                {"id": "cs", "kind": "discord", "url": server.url("d/x"), "rate_per_s": 1000}
            )
        ]
    )
    async with httpx.AsyncClient() as client:
        notifier = Notifier(
            store,
            client,
            InMemoryDeliveryLog(),
            InMemoryDeadLetterSink(),
            policy=FAST,
            metrics=AlertMetrics(registry),
            history=InMemoryAlertHistory(),
            acks=InMemoryAckStore(),
            clock=lambda: now,
        )
        await notifier.start()
        try:
            timed = make_alert(raised_at_ts=now - 5, predicted_at_ts=now - 30)
            assert await _send(notifier, timed) == {"cs": "delivered"}
            untimed = make_alert(raised_at_ts=now - 5, predicted_at_ts=None)
            assert await _send(notifier, untimed) == {"cs": "delivered"}
            assert await _send(notifier, timed) == {"cs": "duplicate"}  # not measured twice
        finally:
            await notifier.stop(deadline_s=0)
    labels = {"kind": "discord"}
    name = "vitals_alert_crossing_to_delivery_seconds"
    assert registry.get_sample_value(f"{name}_count", labels) == 1
    assert registry.get_sample_value(f"{name}_sum", labels) == pytest.approx(30.0)
    assert registry.get_sample_value(f"{name}_bucket", {**labels, "le": "30.0"}) == 1
    assert registry.get_sample_value(f"{name}_bucket", {**labels, "le": "10.0"}) == 0


async def test_an_alert_acked_while_queued_behind_the_rate_limit_is_not_sent(
    settings: Settings, redis: Redis, server: ScriptedServer, registry: CollectorRegistry
) -> None:
    first = make_alert(customer_id="acme", rule="at_risk")
    queued = make_alert(customer_id="globex", rule="gone_quiet")
    url = server.url("hook/slow")
    # One message per 2 s: the second alert waits in the destination's queue.
    body = {"kind": "webhook", "url": url, "rate_per_s": 0.5, "burst": 1}
    async with api_client(settings) as api:
        answer = await api.put("/v1/destinations/slow", json=body, headers=ADMIN)
        assert answer.status_code in (200, 201), answer.text
        async with redis_notifier(redis, registry) as notifier:
            assert await _send(notifier, first) == {"slow": "delivered"}
            waiting = await notifier.submit(queued)
            # Queued behind the rate limit (recorded as such), not sent: what the ack must catch.
            state = await RedisDeliveryLog(redis).get(queued["alert_id"], "slow")
            assert state is not None and state.status == "queued"
            assert notifier.queue_depth() == 1 and not waiting.done()
            ack = await api.post(f"/v1/alerts/{queued['alert_id']}/ack", headers=READER)
            assert ack.status_code == 200
            assert await asyncio.wait_for(waiting, 5) == {"slow": "acked"}
    assert len(server.received("hook/slow")) == 1
    state = await RedisDeliveryLog(redis).get(queued["alert_id"], "slow")
    assert state is not None and state.status == "acked" and state.attempts == 0
