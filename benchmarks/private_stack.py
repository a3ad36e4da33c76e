"""The private Kafka + Redis stack a scorer benchmark runs on (``vitals.tools.stackctl``): its
command-line options and the Settings built from them, one way for every such benchmark.

Each benchmark keeps its own default ports and data dir, so two of them can run side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from vitals.platform.settings import Settings


def add_stack_options(
    parser: argparse.ArgumentParser, *, kafka_port: int, redis_port: int, data_dir: str
) -> None:
    """--partitions, --kafka-port, --kafka-controller-port (the next port by default),
    --redis-port, --data-dir and --keep-stack."""
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--kafka-port", type=int, default=kafka_port)
    parser.add_argument("--kafka-controller-port", type=int, default=kafka_port + 1)
    parser.add_argument("--redis-port", type=int, default=redis_port)
    parser.add_argument("--data-dir", default=data_dir)
    parser.add_argument("--keep-stack", action="store_true", help="leave Kafka and Redis running")


def stack_settings(args: argparse.Namespace, clock: str) -> Settings:
    """Settings of the stack ``add_stack_options`` describes, scoring on ``clock``, with refits
    and the scorer's metrics port off (a benchmark compares like with like)."""
    return Settings(
        kafka_port=args.kafka_port,
        kafka_controller_port=args.kafka_controller_port,
        redis_port=args.redis_port,
        data_dir=Path(args.data_dir),
        kafka_bootstrap="",
        redis_url="",
        partitions=args.partitions,
        clock=clock,
        refit_interval_s=0,
        scorer_metrics_port=0,
    )
