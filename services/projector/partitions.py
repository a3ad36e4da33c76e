"""Partitions of a topic, asked of the broker (not of a consumer's possibly stale metadata cache).

aiokafka's ``consumer.partitions_for_topic`` answers from cached metadata and returns None for a
topic created after the consumer started; ``describe_topics`` asks the controller every time.
"""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

UNKNOWN_TOPIC_OR_PARTITION = 3  # Kafka error code in DescribeTopics responses


class TopicMissing(LookupError):
    """The topic does not exist on the cluster."""


async def topic_partitions(admin: AIOKafkaAdminClient, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``, sorted; raises ``TopicMissing`` or ``RuntimeError``."""
    (description,) = await admin.describe_topics([topic])
    code = description["error_code"]
    if code == UNKNOWN_TOPIC_OR_PARTITION or (code == 0 and not description["partitions"]):
        raise TopicMissing(f"topic {topic!r} does not exist")
    if code != 0:
        raise RuntimeError(f"describing topic {topic!r} failed with Kafka error code {code}")
    return sorted(TopicPartition(topic, p["partition"]) for p in description["partitions"])
