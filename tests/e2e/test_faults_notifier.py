"""The notifier killed with SIGKILL mid-delivery and restarted: every alert reaches every
destination, and a receiver that de-duplicates on ``webhook-id`` sees each alert exactly once."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from notifier.support import Reply, ScriptedServer, make_alert
from standardwebhooks import Webhook

from vitals.notifier.delivery_log import RedisDeliveryLog
from vitals.platform.settings import Settings

from .kafka_io import produce_pipelined
from .services import await_for, kill9, running

pytestmark = pytest.mark.integration

ALERTS = 40
# Slow enough that the kill lands with deliveries queued and one in flight.
RATE_PER_S = 20.0
REPLY_DELAY_S = 0.05
# `vitals notifier` with its own consumer group: the CLI's fixed group would be shared with every
# other test run on the broker. Settings come from the environment like the CLI's.
NOTIFIER = """
import asyncio, logging, os, signal
from vitals.notifier.cli import run_notifier
from vitals.platform.settings import Settings

async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await run_notifier(
        Settings(), stop, bootstrap_json=os.environ["VITALS_ALERT_DESTINATIONS"],
        group_id=os.environ["TEST_NOTIFIER_GROUP"], auto_offset_reset="earliest",
    )

logging.basicConfig(level=logging.INFO)
asyncio.run(main())
"""


async def delivery_states(settings: Settings, ids: set[str]) -> dict[str, dict[str, str]]:
    """Per alert, the notifier's delivery log: {destination: status}."""
    client = aioredis.from_url(settings.redis_url)
    try:
        log = RedisDeliveryLog(client)
        return {
            alert_id: {s.destination_id: s.status for s in await log.for_alert(alert_id)}
            for alert_id in ids
        }
    finally:
        await client.aclose()


async def test_notifier_killed_mid_delivery_delivers_each_alert_once_per_destination(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ScriptedServer()
    await server.start()
    hooks = ("hook-a", "hook-b")
    for hook in hooks:
        server.script(hook, *[Reply(delay_s=REPLY_DELAY_S) for _ in range(3 * ALERTS)])
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    destinations = [
        {
            "id": hook,
            "kind": "webhook",
            "url": server.url(hook),
            "secret": secret,
            "rate_per_s": RATE_PER_S,
        }
        for hook in hooks
    ]
    env = {
        "VITALS_ALERT_DESTINATIONS": json.dumps(destinations),
        "TEST_NOTIFIER_GROUP": f"notifier-faults-{uuid.uuid4().hex[:8]}",
    }
    alerts = [make_alert(customer_id=f"cust-{i}") for i in range(ALERTS)]
    ids = {alert["alert_id"] for alert in alerts}
    await produce_pipelined(
        settings,
        [(a["customer_id"].encode(), json.dumps(a).encode()) for a in alerts],
        topic=settings.topic_alerts,
    )

    def ids_at(hook: str) -> list[str]:
        return [r.headers["webhook-id"] for r in server.received(hook)]

    try:
        with running("notifier-1", [], settings, tmp_path, env=env, python=["-c", NOTIFIER]) as n:

            async def some_delivered() -> bool:
                return len(ids_at("hook-a")) >= ALERTS // 4

            await await_for(some_delivered, timeout=60, interval=0.01, what="first deliveries")
            kill9(n)
        at_kill = {hook: len(ids_at(hook)) for hook in hooks}
        assert all(count < ALERTS for count in at_kill.values()), at_kill

        with running("notifier-2", [], settings, tmp_path, env=env, python=["-c", NOTIFIER]):

            async def all_delivered() -> bool:
                return all(set(ids_at(hook)) == ids for hook in hooks) and (
                    await delivery_states(settings, ids)
                ) == {alert_id: dict.fromkeys(hooks, "delivered") for alert_id in ids}

            await await_for(all_delivered, timeout=90, interval=0.2, what="every alert delivered")
    finally:
        await server.stop()

    for hook in hooks:
        received = ids_at(hook)
        assert set(received) == ids
        bodies: dict[str, set[str]] = defaultdict(set)
        for request in server.received(hook):
            # Checked as a receiver would, with the Standard Webhooks reference library.
            body = Webhook(secret).verify(request.body, request.headers)
            bodies[request.headers["webhook-id"]].add(json.dumps(body, sort_keys=True))
            assert body["alert_id"] == request.headers["webhook-id"]
        # A repeat is the same message (same id, same body): the receiver drops it by id.
        assert all(len(versions) == 1 for versions in bodies.values())
        # Only a delivery in flight at the kill (2xx sent, delivery log not yet written) repeats.
        assert len(received) - len(ids) <= 1, (hook, len(received))
    with capsys.disabled():
        repeats = {hook: len(ids_at(hook)) - len(ids) for hook in hooks}
        print(f"\n[faults] notifier SIGKILLed after {at_kill} deliveries; repeats {repeats}")
