"""``/v1/alerts``: recent alerts with delivery states; ack and snooze with a read key."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from redis.asyncio import Redis

from vitals.notifier.acks import AckStore
from vitals.notifier.delivery_log import DeliveryState, RedisDeliveryLog
from vitals.notifier.history import AlertHistory

from .conftest import ClientFactory

KEYS = SecretStr("reader-key:read;ingest-key:ingest;boss-key:admin")
READER = {"Authorization": "Bearer reader-key"}


def _alert(alert_id: str, customer_id: str, ts: float, rule: str = "gone_quiet") -> dict[str, Any]:
    return {"alert_id": alert_id, "customer_id": customer_id, "rule": rule, "raised_at_ts": ts}


async def _seed(redis: Redis) -> None:
    history = AlertHistory(redis)
    now = time.time()
    for n, customer in enumerate(["acme", "globex", "acme"]):
        await history.record(_alert(f"al{n}", customer, now - 100 + n))
    await RedisDeliveryLog(redis).put(
        DeliveryState(alert_id="al2", destination_id="cs", status="delivered", attempts=1)
    )


async def test_listing_is_newest_first_with_deliveries_and_filters(
    api: ClientFactory, redis: Redis
) -> None:
    await _seed(redis)
    async with api(api_keys=KEYS) as client:
        everything = await client.get("/v1/alerts", headers=READER)
        acme = await client.get("/v1/alerts", params={"customer_id": "acme"}, headers=READER)
        one = await client.get("/v1/alerts", params={"limit": 1}, headers=READER)
        too_many = await client.get("/v1/alerts", params={"limit": 501}, headers=READER)
        single = await client.get("/v1/alerts/al2", headers=READER)
        unknown = await client.get("/v1/alerts/nope", headers=READER)
        no_key = await client.get("/v1/alerts")
    assert [v["alert"]["alert_id"] for v in everything.json()["alerts"]] == ["al2", "al1", "al0"]
    assert [v["alert"]["alert_id"] for v in acme.json()["alerts"]] == ["al2", "al0"]
    assert len(one.json()["alerts"]) == 1 and too_many.status_code == 422
    view = single.json()
    assert view["deliveries"][0]["destination_id"] == "cs"
    assert view["deliveries"][0]["status"] == "delivered"
    assert view["acknowledged"] is None and view["snoozed_until"] is None
    assert view["held_back"] is None
    assert unknown.status_code == 404 and no_key.status_code == 401


async def test_ack_with_a_read_key_first_ack_stands(api: ClientFactory, redis: Redis) -> None:
    await _seed(redis)
    async with api(api_keys=KEYS) as client:
        ingest = await client.post("/v1/alerts/al1/ack", headers={"X-API-Key": "ingest-key"})
        first = await client.post("/v1/alerts/al1/ack", json={"by": "dana"}, headers=READER)
        second = await client.post("/v1/alerts/al1/ack", headers=READER)
        unknown = await client.post("/v1/alerts/nope/ack", headers=READER)
        listed = await client.get("/v1/alerts", headers=READER)
    assert ingest.status_code == 403 and unknown.status_code == 404
    assert first.status_code == second.status_code == 200
    ack = first.json()["acknowledged"]
    assert ack["by"] == "dana" and abs(ack["at"] - time.time()) < 60
    assert second.json()["acknowledged"] == ack and second.json()["held_back"] == "acked"
    assert await AckStore(redis).is_acked("al1")
    held = {v["alert"]["alert_id"]: v["held_back"] for v in listed.json()["alerts"]}
    assert held == {"al2": None, "al1": "acked", "al0": None}


async def test_snooze_covers_the_customer_and_rule_and_can_be_lifted(
    api: ClientFactory, redis: Redis
) -> None:
    await _seed(redis)
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    async with api(api_keys=KEYS) as client:
        snoozed = await client.post(
            "/v1/alerts/al0/snooze", params={"until": until.isoformat()}, headers=READER
        )
        listed = (await client.get("/v1/alerts", headers=READER)).json()["alerts"]
        # Unencoded '+' of an offset arrives as a space: still understood.
        raw = until.strftime("%Y-%m-%dT%H:%M:%S+00:00").replace("+", " ")
        with_space = await client.post(f"/v1/alerts/al0/snooze?until={raw}", headers=READER)
        lifted = await client.delete("/v1/alerts/al0/snooze", headers=READER)
    assert snoozed.status_code == 200
    assert snoozed.json()["snoozed_until"] == until.timestamp()
    assert snoozed.json()["held_back"] == "snoozed"
    # Same customer and rule (al2) is covered; another customer (al1) is not.
    held = {v["alert"]["alert_id"]: v["held_back"] for v in listed}
    assert held == {"al2": "snoozed", "al1": None, "al0": "snoozed"}
    assert with_space.status_code == 200
    assert await AckStore(redis).snoozed_until("acme", "gone_quiet") is None
    assert lifted.json()["snoozed_until"] is None and lifted.json()["held_back"] is None


async def test_snooze_times_must_be_future_bounded_and_carry_an_offset(
    api: ClientFactory, redis: Redis
) -> None:
    await _seed(redis)
    now = datetime.now(UTC)
    bad = [
        (now - timedelta(minutes=1)).isoformat(),
        (now + timedelta(days=91)).isoformat(),
        (now + timedelta(hours=1)).replace(tzinfo=None).isoformat(),
        "tomorrow",
    ]
    async with api(api_keys=KEYS) as client:
        answers = [
            await client.post("/v1/alerts/al0/snooze", params={"until": u}, headers=READER)
            for u in bad
        ]
        unknown = await client.post(
            "/v1/alerts/nope/snooze",
            params={"until": (now + timedelta(hours=1)).isoformat()},
            headers=READER,
        )
    assert [a.status_code for a in answers] == [422, 422, 422, 422]
    assert "past" in answers[0].json()["detail"] and "90 days" in answers[1].json()["detail"]
    assert unknown.status_code == 404
    assert await AckStore(redis).snoozed_until("acme", "gone_quiet") is None


async def test_customer_page_offers_ack_and_snooze(api: ClientFactory) -> None:
    async with api() as client:
        page = await client.get("/ui/customers/acme")
        script = await client.get("/ui/static/customer.js")
    assert 'id="alerts"' in page.text
    assert "/v1/alerts?customer_id=" in script.text
    assert "/ack" in script.text and "/snooze?until=" in script.text
