"""Kafka topics of Vitals: create them on purpose, and wait for a broker that really answers.

The local broker runs with ``auto.create.topics.enable=false`` (deploy/kafka/server.properties
.template): an auto-created topic would get one partition and no compaction, and a mistyped name
would swallow records. So every topic the services use is created here, idempotently:

- ``topic_events``: ``settings.partitions``; the unit of scorer parallelism (key customer_id).
- ``topic_scores``: ``settings.partitions``, compacted: the latest snapshot per customer.
- ``topic_alerts``: ``settings.partitions``; notifier parallelism, per-customer order.
- ``topic_events_dead``, ``topic_alerts_dead``: 1 partition; rejected events and undeliverable
  alerts, read by people, a few a day.
- ``<scorer_app_id>-ticks`` (``ticks_topic``): the scorer's wall-clock ticks, internal to the
  scorer app like its changelog; ``settings.partitions``, so that Faust co-partitions it with
  ``topic_events`` (partition p of both goes to the same worker); an hour of retention.

Replication: 3, or fewer when the cluster has fewer live brokers (1 on the local node).
Command line, used by deploy/stack.sh::

    python -m vitals.platform.topics         # wait for Kafka, then create the topics (VITALS_* env)
    python -m vitals.platform.topics --wait  # only wait until Kafka answers a metadata request
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from vitals.platform.settings import Settings

# Replicas per partition on a real cluster: three survive one broker down while a second is being
# restarted. Capped by the number of live brokers, so the single local node gets 1. (The broker's
# own default, RF -1, would be nicer but aiokafka 0.14's NewTopic refuses it.)
MAX_REPLICATION = 3
# Dead-letter topics are read by people, a few records a day: one partition keeps them in order.
DEAD_LETTER_PARTITIONS = 1
# A tick is worthless seconds after it was sent (it only says "look at your due timers now"); an
# hour keeps the topic small and still covers a worker that restarts and reads from its offsets.
TICKS_RETENTION_MS = 3_600_000
# Kafka error codes seen in CreateTopics responses.
_TOPIC_ALREADY_EXISTS = 36
# Between metadata polls while a broker starts or a new topic gets its leaders.
POLL_INTERVAL_S = 0.2
# One metadata request must not eat the whole wait budget when the broker half-answers.
REQUEST_TIMEOUT_MS = 5_000
# How long ensure_topics waits for created topics to show leaders for every partition (seconds):
# KRaft elects them in milliseconds on one node; this bounds a sick broker.
TOPIC_READY_TIMEOUT_S = 30.0


class TopicError(RuntimeError):
    """A topic could not be created, or exists with a shape the services cannot use."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic the services need: name, partitions and topic-level configs."""

    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def ticks_topic(settings: Settings) -> str:
    """The scorer's internal topic of wall-clock ticks (scorer/app.py), named after its app."""
    return f"{settings.scorer_app_id}-ticks"


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """The topics of a Vitals deployment, as configured by ``settings``."""
    return [
        TopicSpec(settings.topic_events, settings.partitions),
        TopicSpec(settings.topic_scores, settings.partitions, {"cleanup.policy": "compact"}),
        TopicSpec(settings.topic_alerts, settings.partitions),
        TopicSpec(settings.topic_events_dead, DEAD_LETTER_PARTITIONS),
        TopicSpec(settings.topic_alerts_dead, DEAD_LETTER_PARTITIONS),
        TopicSpec(
            ticks_topic(settings),
            settings.partitions,
            {"cleanup.policy": "delete", "retention.ms": str(TICKS_RETENTION_MS)},
        ),
    ]


def _admin(bootstrap: str) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="vitals-topics",
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )


async def wait_for_kafka(settings: Settings, timeout: float) -> None:
    """Return once the broker at ``settings.kafka_bootstrap`` answers a metadata request with at
    least one live broker; raise ``TimeoutError`` (naming the address) after ``timeout`` seconds."""
    await _wait_for_bootstrap(settings.kafka_bootstrap, timeout)


async def _wait_for_bootstrap(bootstrap: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while True:
        admin = _admin(bootstrap)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            if cluster.get("brokers"):
                return
            last_error = "metadata lists no broker yet"
        except (TimeoutError, KafkaError, OSError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        finally:
            await admin.close()
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"Kafka at {bootstrap} did not answer a metadata request within {timeout:.0f} s "
                f"({last_error}). Is the stack up? Try `vitals stack status` / `vitals stack logs`."
            )
        await asyncio.sleep(POLL_INTERVAL_S)


async def ensure_topics(settings: Settings, extra: Sequence[TopicSpec] = ()) -> None:
    """Create the Vitals topics (and ``extra`` ones) that do not exist yet (idempotent, safe to
    run concurrently) and wait until every partition has a leader, so producers do not start
    against a half-made topic.

    Raises ``TopicError`` when a topic exists with fewer partitions than configured for a
    keyed topic: adding partitions later would move customers between scorer partitions.
    """
    specs = [*topic_specs(settings), *extra]
    admin = _admin(settings.kafka_bootstrap)
    try:
        await admin.start()
        existing = await _describe(admin)
        missing = [s for s in specs if s.name not in existing]
        if missing:
            brokers = len((await admin.describe_cluster())["brokers"])
            replication = max(1, min(MAX_REPLICATION, brokers))
            response = await admin.create_topics(
                [
                    NewTopic(s.name, s.partitions, replication, topic_configs=s.configs)
                    for s in missing
                ]
            )
            for name, code, message in _topic_errors(response):
                if code not in (0, _TOPIC_ALREADY_EXISTS):
                    raise TopicError(f"creating topic {name!r} failed: error {code} {message}")
        await _wait_for_leaders(admin, specs)
    finally:
        await admin.close()


async def _describe(admin: AIOKafkaAdminClient) -> dict[str, dict[str, Any]]:
    """Metadata of every existing topic by name. Asks for all topics on purpose: a metadata
    request naming a missing topic would auto-create it on a broker that allows that."""
    topics = await admin.describe_topics(None)
    return {t["topic"]: t for t in topics if t["error_code"] == 0}


def _topic_errors(response: object) -> list[tuple[str, int, str]]:
    """(topic, error_code, message) from any CreateTopics response version."""
    rows = getattr(response, "topic_errors", None) or getattr(response, "topics", [])
    result = []
    for row in rows:
        name, code = row[0], row[1]
        message = row[2] if len(row) > 2 and isinstance(row[2], str) else ""
        result.append((name, code, message or ""))
    return result


async def _wait_for_leaders(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    deadline = time.monotonic() + TOPIC_READY_TIMEOUT_S
    while True:
        described = await _describe(admin)
        pending = []
        for spec in specs:
            topic = described.get(spec.name)
            partitions = topic["partitions"] if topic else []
            if not partitions:
                pending.append(spec.name)
            elif len(partitions) < spec.partitions:
                raise TopicError(
                    f"topic {spec.name!r} exists with {len(partitions)} partitions but "
                    f"VITALS_PARTITIONS is {spec.partitions}. Keep the old count, use new topic "
                    "names, or delete the topic (local stack: `deploy/stack.sh purge`)."
                )
            elif any(p["leader"] < 0 for p in partitions):
                pending.append(spec.name)
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise TopicError(
                f"topics {pending} have no leader after {TOPIC_READY_TIMEOUT_S:.0f} s; "
                "see the broker log (`vitals stack logs`)"
            )
        await asyncio.sleep(POLL_INTERVAL_S)


async def list_topics(settings: Settings) -> list[str]:
    """Names of every topic on the cluster, internal ones included."""
    admin = _admin(settings.kafka_bootstrap)
    try:
        await admin.start()
        return list(await admin.list_topics())
    finally:
        await admin.close()


async def delete_topics(settings: Settings, names: list[str]) -> None:
    """Delete ``names`` (missing ones are ignored). Used by tests to keep the broker small."""
    if not names:
        return
    admin = _admin(settings.kafka_bootstrap)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


@click.command()
@click.option("--wait", "wait_only", is_flag=True, help="Only wait until Kafka answers.")
@click.option("--bootstrap", default=None, help="host:port (default: from VITALS_* settings).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for Kafka.")
def main(wait_only: bool, bootstrap: str | None, timeout: float) -> None:
    """Wait for Kafka, then create the Vitals topics (unless --wait)."""
    # While a broker starts, aiokafka logs every refused connection at ERROR; the timeout error
    # below says what matters.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    settings = Settings()
    if bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})

    async def run() -> None:
        await wait_for_kafka(settings, timeout)
        if not wait_only:
            await ensure_topics(settings)

    try:
        asyncio.run(run())
    except (TimeoutError, TopicError) as exc:
        raise click.ClickException(str(exc)) from exc
    if not wait_only:
        names = ", ".join(s.name for s in topic_specs(settings))
        click.echo(f"topics ready on {settings.kafka_bootstrap}: {names}")


if __name__ == "__main__":
    main()
