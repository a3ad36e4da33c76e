"""The whole path from tenants' tools to scores: Stripe webhooks and the Segment SDK into a
running ingest (keys on, one acknowledgement lost), the real Kafka, the scorer and the API."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from e2e.services import await_for, with_api_port
from e2e.services import running as running_service
from pydantic import SecretStr
from segment.analytics.client import Client as SegmentClient

from vitals.ingest.app import create_app
from vitals.ingest.producer import KafkaEventSink
from vitals.platform.settings import Settings

from .live import LostAckSink, serving
from .stripe_fixtures import SECRET, envelope, invoice_2024, price, sign, subscription
from .test_sdks import KEYS, WRITE_KEY, connected

DAY = 86_400
# The scorer joins its group and recovers its table in a few seconds; generous for 2 busy cores.
SCORED_TIMEOUT_S = 120.0


async def stripe_post(client: httpx.AsyncClient, host: str, event: dict[str, Any]) -> None:
    payload = orjson.dumps(event)
    response = await client.post(
        f"{host}/v1/stripe/webhook", content=payload, headers={"stripe-signature": sign(payload)}
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text


async def test_stripe_and_segment_reach_scores_once_each_despite_a_resent_batch(
    settings: Settings, tmp_path: Path
) -> None:
    settings, api_url = with_api_port(
        settings, api_keys=KEYS, stripe_webhook_secret=SecretStr(SECRET)
    )
    read = {"Authorization": "Bearer reader-0123456789"}
    now = time.time()
    started = envelope(
        "customer.subscription.created",
        subscription([(price(4900), 1)]),
        event_id="evt_started",
    )
    started["created"] = int(now - 40 * DAY)
    renewal = envelope("invoice.paid", invoice_2024(4900), event_id="evt_renewed")
    renewal["created"] = int(now - 10 * DAY)

    kafka = KafkaEventSink(settings)
    sink = LostAckSink(kafka, failures=0)
    with (
        running_service("scorer", ["scorer", "--loglevel", "warn"], settings, tmp_path),
        running_service("projector", ["projector"], settings, tmp_path),
        running_service("api", ["api"], settings, tmp_path, f"{api_url}/healthz"),
        serving(create_app(settings, sink)) as host,
    ):
        await connected(kafka)
        async with httpx.AsyncClient(timeout=10.0) as client:

            async def snapshot() -> dict[str, Any] | None:
                r = await client.get(f"{api_url}/v1/customers/acme", headers=read)
                return r.json() if r.status_code == 200 else None

            await stripe_post(client, host, started)

            async def started_scored() -> dict[str, Any] | None:
                snap = await snapshot()
                return snap if snap and snap["stats"]["events"] >= 1 else None

            before = await await_for(started_scored, SCORED_TIMEOUT_S, what="the started event")
            await stripe_post(client, host, renewal)
            await stripe_post(client, host, renewal)  # Stripe's retry of the same delivery

            async def renewed() -> dict[str, Any] | None:
                snap = await snapshot()
                return snap if snap and snap["stats"]["events"] >= 2 else None

            after = await await_for(renewed, 60, what="the renewal")

            sink.failures = 1  # the SDK's first batch is written, then answered 503
            segment = SegmentClient(write_key=WRITE_KEY, host=host, gzip=True)
            account = {"groupId": "acme"}
            segment.group(user_id="u-1", group_id="acme", traits={"name": "Acme", "plan": "pro"})
            for feature in ("Report Exported", "Dashboard Shared", "Report Exported"):
                segment.track(user_id="u-1", event=feature, context=dict(account))
            segment.page(user_id="u-1", name="Billing", context=dict(account))
            segment.track(
                user_id="u-1",
                event="Order Completed",
                properties={"order_id": "o-1", "revenue": 120.0, "currency": "USD"},
                context=dict(account),
            )
            await asyncio.to_thread(segment.flush)
            await asyncio.to_thread(segment.join)
            assert len(sink.failed) == 1
            resent = len(sink.failed[0])

            async def all_scored() -> dict[str, Any] | None:
                snap = await snapshot()
                done = snap and snap["stats"]["events"] == 2 + 6
                return snap if done and snap["stats"]["duplicates"] >= 1 + resent else None

            final = await await_for(all_scored, 60, what="the SDK's events in the API")

    # Stripe: started, then renewed once (its retry counted as a duplicate, not a renewal).
    assert before["temperature"]["model"] == after["temperature"]["model"] == "sbg"
    assert before["temperature"]["components"]["renewals"] == 0
    assert after["temperature"]["components"]["renewals"] == 1
    assert after["temperature"]["value"] > before["temperature"]["value"]
    # Segment: 4 usage events (3 tracks + 1 page view), 1 purchase, the profile; the batch
    # written twice counted once.
    assert final["stats"]["usage_events"] == 4
    assert final["stats"]["purchases"] == 1
    assert final["stats"]["duplicates"] == 1 + resent
    assert final["profile"]["plan"] == "pro"
