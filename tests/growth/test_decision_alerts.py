"""An experiment decision becomes an alert on the real `alerts` topic and reaches chat through
the real notifier (`run_notifier`: Kafka consumer, Redis delivery log, HTTP to a local server
standing in for Slack and a signed webhook), once, however often the check runs or replays."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from e2e.kafka_io import read_all
from e2e.services import await_for
from notifier.support import ScriptedServer
from redis.asyncio import Redis
from schemas.support import validator

from vitals.core.events import parse_event
from vitals.growth.config import DEFAULT_GROWTH, ExperimentSpec, GrowthConfig
from vitals.growth.decision_alert import decision_alert, decision_alert_id
from vitals.growth.experiments import analyse, assign_arm
from vitals.growth.processor import GrowthProcessor
from vitals.growth.projection import GrowthProjection
from vitals.notifier.cli import run_notifier
from vitals.notifier.delivery_log import RedisDeliveryLog
from vitals.platform.partitioning import partition_for
from vitals.platform.settings import Settings
from vitals.scorer.growth_agent import publish_new_decisions

from .factories import DAY, START, stamp

pytestmark = pytest.mark.integration

EXPERIMENT = "rescue-call"
ARMS = ("control", "treatment")
# Far apart on purpose (10 % vs 45 % converted within the horizon): the test is about the alert
# path, so the decision must come within the simulated months.
RATES = {"control": 0.10, "treatment": 0.45}
CONFIG = GrowthConfig(
    experiments={
        EXPERIMENT: ExperimentSpec(
            goal="converted", horizon_days=14.0, description="Call leads that went quiet"
        )
    }
)
UNITS_PER_DAY = 12
DAYS = 40
PARTITIONS = 8
ALERTS_SCHEMA = validator("alert")


def experiment_events(seed: int = 3) -> list[dict[str, Any]]:
    """Leads assigned by hash, each converting within the horizon at its arm's rate."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for day in range(DAYS):
        for unit in range(UNITS_PER_DAY):
            cid = f"x{day:03d}-{unit:02d}"
            t0 = START + (day + rng.random() / 2) * DAY
            arm = assign_arm(EXPERIMENT, cid, ARMS)
            props = {"experiment": EXPERIMENT, "arm": arm}
            events.append(_event(cid, "lead", "created", t0, {}))
            events.append(_event(cid, "experiment", "assigned", t0 + 60, props))
            if rng.random() < RATES[arm]:
                events.append(_event(cid, "lead", "converted", t0 + rng.random() * 10 * DAY, {}))
    return events


def _event(cid: str, kind: str, name: str, ts: float, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"{cid}-{kind}-{name}",
        "customer_id": cid,
        "type": kind,
        "name": name,
        "timestamp": stamp(ts),
        "properties": props,
    }


async def fill_projection(projection: GrowthProjection, events: list[dict[str, Any]]) -> float:
    """Fold the events (pure processor, a dict for its table) into the Redis projection;
    returns the latest event time."""
    processor = GrowthProcessor({}, CONFIG, PARTITIONS, clock=lambda: 0.0)
    by_time = sorted(events, key=lambda e: parse_event(e).ts)
    snapshots = processor.process(
        (partition_for(e["customer_id"], PARTITIONS), json.dumps(e).encode()) for e in by_time
    )
    await projection.apply(snapshots)
    return processor.watermark


class KafkaPublisher:
    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topic_alerts
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")

    async def __call__(self, key: bytes, value: bytes) -> None:
        await self.producer.send_and_wait(self.topic, value=value, key=key)


async def test_a_decision_is_one_alert_delivered_once_to_each_chat_destination(
    settings: Settings,
) -> None:
    redis = Redis.from_url(settings.redis_url)
    projection = GrowthProjection(redis)
    publish = KafkaPublisher(settings)
    await publish.producer.start()
    server = ScriptedServer()
    await server.start()
    try:
        now = await fill_projection(projection, experiment_events()) + 20 * DAY
        url = "http://vitals.example:8080"
        assert await publish_new_decisions(projection, CONFIG, now, url, publish) == 1
        # Every later check (each worker, every 30 s, after restarts) finds it recorded.
        for _ in range(3):
            assert await publish_new_decisions(projection, CONFIG, now + DAY, url, publish) == 0
        # A crash after publishing but before recording: the next check publishes it again,
        # under the same alert id.
        await redis.delete("vitals:growth:decisions")
        assert await publish_new_decisions(projection, CONFIG, now, url, publish) == 1

        records = [value for _, value in await read_all(settings, settings.topic_alerts)]
        assert len(records) == 2
        alert_id = decision_alert_id(EXPERIMENT, "treatment")
        assert {r["alert_id"] for r in records} == {alert_id}
        for record in records:
            assert list(ALERTS_SCHEMA.iter_errors(record)) == []
        alert = records[0]
        assert alert["rule"] == "experiment_decided" and "customer_id" not in alert
        assert alert["experiment"]["decision"] == "treatment better"
        low, high = alert["experiment"]["always_valid_interval"]
        assert 0 < low < RATES["treatment"] - RATES["control"] < high
        assert alert["link"] == f"{url}/ui/growth#experiments"

        # The real notifier: one Slack channel and one signed webhook, fed from `alerts`.
        destinations = [
            {"id": "growth-slack", "kind": "slack", "url": server.url("slack/growth")},
            {
                "id": "growth-hook",
                "kind": "webhook",
                "url": server.url("hook"),
                "secret": "whsec_" + "A" * 43 + "=",
            },
        ]
        stop = asyncio.Event()
        notifier = asyncio.create_task(
            run_notifier(
                settings,
                stop,
                bootstrap_json=json.dumps(destinations),
                group_id=f"notifier-growth-{uuid.uuid4().hex[:8]}",
                auto_offset_reset="earliest",
            )
        )
        log = RedisDeliveryLog(redis)

        async def delivered() -> bool:
            states = {s.destination_id: s.status for s in await log.for_alert(alert_id)}
            return states == {"growth-slack": "delivered", "growth-hook": "delivered"}

        try:
            await await_for(delivered, timeout=60, interval=0.2, what="the decision delivered")
            await asyncio.sleep(1.0)  # the replayed record must not follow
        finally:
            stop.set()
            await asyncio.wait_for(notifier, 30)
    finally:
        await server.stop()
        await publish.producer.stop()
        await redis.aclose()

    (slack,) = server.received("slack/growth")
    text = json.dumps(slack.json(), ensure_ascii=False)
    assert "Experiment rescue-call: treatment better" in text
    assert "Always-valid interval" in text and "Open experiment" in text
    (hook,) = server.received("hook")
    assert hook.headers["webhook-id"] == alert_id
    assert hook.json()["experiment"]["name"] == EXPERIMENT


def test_an_undecided_arm_raises_no_alert_and_the_id_ignores_when_it_was_seen() -> None:
    aggregates: dict[str, dict[str, int]] = {
        f"exp:{EXPERIMENT}:{arm}:n": {f"{20_000 + d}|-": 10 for d in range(30)} for arm in ARMS
    }
    report = analyse(aggregates, EXPERIMENT, CONFIG.experiment(EXPERIMENT), 20_060, 0.05)
    assert report["effects"]["treatment"]["decided_on"] is None
    with pytest.raises(ValueError, match="no decision yet"):
        decision_alert(report, "treatment", "http://x", 0.0)
    assert decision_alert_id(EXPERIMENT, "treatment") == decision_alert_id(EXPERIMENT, "treatment")
    assert decision_alert_id(EXPERIMENT, "treatment") != decision_alert_id("other", "treatment")
    assert DEFAULT_GROWTH.experiment(EXPERIMENT).goal == "converted"  # unknown: default spec
