"""``vitals notifier``: consume the ``alerts`` topic and deliver to chat webhooks.

Destinations are read from Redis (``vitals:alerts:destinations``, managed by the API). For a
first start, ``VITALS_ALERT_DESTINATIONS`` may hold a JSON list of destinations, written to Redis
at start-up (same id = replaced). Offsets are committed only up to the last alert whose every
delivery finished (delivered or dead-lettered), so a crash replays unfinished alerts and the
delivery log keeps replays from notifying twice. Every alert is recorded in the alert history
(``GET /v1/alerts``), and alerts a CSM acknowledged or snoozed through the API are held back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections import deque
from typing import Any

import click
import httpx
from pydantic import TypeAdapter, ValidationError

from vitals.notifier.acks import AckStore
from vitals.notifier.deadletter import DeadLetterSink, KafkaDeadLetterSink
from vitals.notifier.delivery_log import RedisDeliveryLog
from vitals.notifier.destinations import Destination, DestinationStore, RedisDestinationStore
from vitals.notifier.history import AlertHistory
from vitals.notifier.notifier import STOP_DEADLINE_S, Notifier
from vitals.notifier.worker import ABANDONED, FAILED
from vitals.platform.logs import configure_logging
from vitals.platform.settings import Settings

log = logging.getLogger(__name__)

# The setting (Settings.alert_destinations) by its environment name, for error messages.
ENV_DESTINATIONS = "VITALS_ALERT_DESTINATIONS"
GROUP_ID = "vitals-notifier"
# A new consumer group starts at the end of `alerts`: a first deployment must not post weeks
# of old alerts into channels. An existing group resumes from its committed offsets.
AUTO_OFFSET_RESET = "latest"
POLL_TIMEOUT_MS = 1000  # also how often offsets are committed while alerts are in flight


class OffsetTracker:
    """Per partition, the offsets handed to the notifier in order, with their tickets.

    ``committable`` returns, per partition, the offset after the longest finished prefix:
    an alert still in delivery (or failed) holds back the commit of everything after it.
    """

    def __init__(self) -> None:
        self._pending: dict[Any, deque[tuple[int, asyncio.Future[dict[str, str]]]]] = {}

    def add(self, tp: Any, offset: int, ticket: asyncio.Future[dict[str, str]]) -> None:
        self._pending.setdefault(tp, deque()).append((offset, ticket))

    def committable(self) -> dict[Any, int]:
        out = {}
        for tp, queue in self._pending.items():
            last = None
            while queue and queue[0][1].done():
                outcomes = queue[0][1].result()
                if FAILED in outcomes.values() or ABANDONED in outcomes.values():
                    break
                last = queue.popleft()[0]
            if last is not None:
                out[tp] = last + 1
        return out


def parse_destinations(raw: str) -> list[Destination]:
    """The JSON list from ``VITALS_ALERT_DESTINATIONS``; errors name the item and field only."""
    try:
        return TypeAdapter(list[Destination]).validate_json(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise click.UsageError(f"{ENV_DESTINATIONS} is invalid: {problems}") from None


async def bootstrap_destinations(store: DestinationStore, raw: str | None) -> int:
    """Write the destinations of ``raw`` (JSON list) into ``store``; returns how many."""
    if not raw or not raw.strip():
        return 0
    dests = parse_destinations(raw)
    for dest in dests:
        await store.put(dest)
    return len(dests)


async def _submit_record(
    notifier: Notifier, dead: DeadLetterSink, value: bytes | None
) -> asyncio.Future[dict[str, str]] | None:
    try:
        alert = json.loads(value or b"")
        if not isinstance(alert, dict):
            raise ValueError("not a JSON object")
        ticket: asyncio.Future[dict[str, str]] = await notifier.submit(alert)
        return ticket
    except ValueError as err:  # JSONDecodeError is a ValueError
        log.warning("skipping an invalid alert record: %s", err)
        await dead.dead(
            {"raw": (value or b"")[:2000].decode(errors="replace")}, "", f"invalid: {err}"
        )
        return None


async def run_notifier(
    settings: Settings,
    stop: asyncio.Event,
    *,
    stop_deadline_s: float = STOP_DEADLINE_S,
    bootstrap_json: str | None = None,
    group_id: str = GROUP_ID,
    auto_offset_reset: str = AUTO_OFFSET_RESET,
) -> None:
    """Consume ``settings.topic_alerts`` until ``stop`` is set, then drain and commit.

    ``bootstrap_json``: the value of ``VITALS_ALERT_DESTINATIONS``, written to Redis first.
    """
    import redis.asyncio as aioredis
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    redis = aioredis.from_url(settings.redis_url)
    store = RedisDestinationStore(redis)
    count = await bootstrap_destinations(store, bootstrap_json)
    if count:
        log.info("wrote %d destination(s) from %s to Redis", count, ENV_DESTINATIONS)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    consumer = AIOKafkaConsumer(
        settings.topic_alerts,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset=auto_offset_reset,
    )
    await producer.start()
    dead = KafkaDeadLetterSink(producer, settings.topic_alerts_dead)
    tracker = OffsetTracker()
    try:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            notifier = Notifier(
                store,
                client,
                RedisDeliveryLog(redis),
                dead,
                history=AlertHistory(redis),
                acks=AckStore(redis),
                refresh_s=settings.notifier_destinations_refresh_s,
                queue_max=settings.notifier_queue_max,
            )
            await notifier.start()
            await consumer.start()
            try:
                while not stop.is_set():
                    batches = await consumer.getmany(
                        timeout_ms=POLL_TIMEOUT_MS, max_records=settings.notifier_poll_max_records
                    )
                    for tp, records in batches.items():
                        for record in records:
                            ticket = await _submit_record(notifier, dead, record.value)
                            if ticket is None:
                                ticket = asyncio.get_running_loop().create_future()
                                ticket.set_result({})
                            tracker.add(tp, record.offset, ticket)
                    offsets = tracker.committable()
                    if offsets:
                        await consumer.commit(offsets)
            finally:
                await notifier.stop(stop_deadline_s)
                offsets = tracker.committable()
                if offsets:
                    await consumer.commit(offsets)
                await consumer.stop()
    finally:
        await producer.stop()
        await redis.aclose()


@click.command("notifier")
@click.option(
    "--stop-deadline",
    type=float,
    default=STOP_DEADLINE_S,
    show_default=True,
    help="Seconds to let queued deliveries finish on SIGTERM/SIGINT.",
)
@click.option(
    "--start-at",
    type=click.Choice(["latest", "earliest"]),
    default=AUTO_OFFSET_RESET,
    show_default=True,
    help="Where a NEW consumer group starts reading `alerts` (an existing one resumes where it "
    "stopped): latest skips alerts raised before the first start; earliest delivers them all.",
)
def notifier(stop_deadline: float, start_at: str) -> None:
    """Deliver alerts from the `alerts` topic to Slack, Teams, Google Chat, Discord, webhooks."""
    settings = Settings()
    configure_logging("info")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_notifier(
            settings,
            stop,
            stop_deadline_s=stop_deadline,
            bootstrap_json=settings.alert_destinations.get_secret_value() or None,
            auto_offset_reset=start_at,
        )

    asyncio.run(main())
