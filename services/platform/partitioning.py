"""Which partition a customer lives on: the rule every producer and the scorer must share.

Kafka's default partitioner (the Java client's and aiokafka's alike) sends a keyed record to
``murmur2(key) & 0x7fffffff % partitions``. Each customer's state lives on exactly that partition
of `events`, so envelope producers and the scorer's check both use this one function. murmur2 is
pure Python in aiokafka (~µs per key): results are cached per customer.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2

# Customers whose partition is remembered; beyond this the least recently seen are recomputed.
CACHED_KEYS = 262_144


@lru_cache(maxsize=CACHED_KEYS)
def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition the default partitioner picks for ``key``."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def partition_for(customer_id: str, partitions: int) -> int:
    """The partition of a record keyed by ``customer_id``."""
    return kafka_partition(customer_id.encode(), partitions)
