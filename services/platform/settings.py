"""Settings shared by every Vitals service, read once from the environment (prefix ``VITALS_``).

Each service builds one ``Settings`` at start-up and passes it down; nothing reads the environment
later. Defaults run the whole stack on loopback with the ports ``deploy/stack.sh`` uses, so a fresh
checkout works without any configuration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ClockMode = Literal["wall", "stream"]

# Ports chosen off the usual 9092/6379 so a developer's own Kafka or Redis is never touched.
DEFAULT_KAFKA_PORT = 19092
DEFAULT_KAFKA_CONTROLLER_PORT = 19093
DEFAULT_REDIS_PORT = 16379


class Settings(BaseSettings):
    """Every knob of the running system, with its documented default."""

    model_config = SettingsConfigDict(env_prefix="VITALS_", env_file=None, extra="ignore")

    # --- infrastructure -------------------------------------------------------------------
    # Local stack (deploy/stack.sh): ports on loopback, and where the broker, Redis and the
    # scorer keep their data and logs.
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = DEFAULT_KAFKA_CONTROLLER_PORT
    redis_port: int = DEFAULT_REDIS_PORT
    data_dir: Path = Path(".vitals")
    # Empty = the local stack's address, derived from the ports above.
    kafka_bootstrap: str = ""
    redis_url: str = ""

    # --- topics ----------------------------------------------------------------------------
    topic_events: str = "events"
    topic_scores: str = "scores"
    topic_alerts: str = "alerts"
    topic_events_dead: str = "events.dead"
    topic_alerts_dead: str = "alerts.dead"
    # Partitions of `events` (and of the scorer's changelog): the unit of scorer parallelism.
    partitions: int = Field(default=8, ge=1)

    # --- scorer ----------------------------------------------------------------------------
    # "wall": scores are evaluated at the wall clock (live). "stream": at the stream watermark,
    # the latest event time seen (replays of history score as of that history).
    clock: ClockMode = "wall"
    scorer_app_id: str = "vitals-scorer"
    # Population parameters (BG/NBD, sBG, Gamma-Gamma, norms) are refitted from all local customers
    # this often; 0 keeps the priors (reproducible replays). An hour keeps MLE cost negligible.
    refit_interval_s: float = Field(default=3600.0, ge=0)
    scorer_metrics_port: int = 0
    scorer_web_port: int = 6066
    # Scorer batches: up to this many records or this long, whichever first. A batch is scored
    # per partition, each changed customer once: under load most events share a batch with others
    # of the same customer (fewer snapshots and table writes); when idle an event waits at most
    # the window. Behind a backlog Faust delivers ~2,000 records in 0.1-0.2 s: a 0.02 s window
    # closed batches at a few hundred records, and the worker scored 1.2-1.4x fewer events per
    # CPU-second than with full batches (docs/measurements.md, session 5).
    scorer_batch_records: int = Field(default=2_000, ge=1)
    scorer_batch_within_s: float = Field(default=0.25, gt=0)
    # Wall-clock timers are checked this often (a look at 8 heap tops: cheap); an alert fires at
    # most this late after its crossing, plus a round trip through Kafka.
    scorer_tick_interval_s: float = Field(default=0.25, gt=0)
    # A tick not seen back within this long is sent again (the first may have been lost in a
    # rebalance).
    scorer_tick_resend_s: float = Field(default=10.0, gt=0)
    # Alert-rule overrides (PUT /v1/alert-rules) are read from Redis this often.
    scorer_rules_poll_s: float = Field(default=10.0, gt=0)
    # How often the scorer asks whether to refit population parameters. It refits when
    # refit_interval_s has passed, or early while the population is young: the first time it has
    # scorer_min_refit_customers, and whenever the customer count has doubled since the last fit (a
    # fresh deployment or a backfill should not wait an hour for its norms).
    scorer_refit_check_s: float = Field(default=30.0, gt=0)
    scorer_min_refit_customers: int = Field(default=30, ge=1)
    # Faust's producer buffer holds 100 messages by default and logs "producer buffer full" under
    # any burst of table writes; a larger buffer drains in fewer, bigger flushes.
    scorer_producer_buffer_messages: int = Field(default=10_000, ge=1)
    # RocksDB, per partition database. Faust's defaults (a 2 GiB block cache and 3 x 64 MiB
    # memtables per partition) let 8 partitions grow far past the 1.5 GB a worker of 1M customers
    # may use; reads are mostly of states written moments ago (memtable) or of one customer once
    # per batch, so a small cache costs little.
    scorer_rocksdb_block_cache_bytes: int = Field(default=32 * 1024**2, ge=0)
    scorer_rocksdb_write_buffer_bytes: int = Field(default=16 * 1024**2, ge=1024**2)
    scorer_rocksdb_write_buffers: int = Field(default=2, ge=2)
    # Scorer and growth workers: a worker that died without leaving the group (SIGKILL, OOM, a lost
    # host) holds its partitions until its session times out. Faust's default of 60 s stalls those
    # customers for a minute; 15 s (five missed 3 s heartbeats) hands them over sooner without
    # flapping.
    worker_session_timeout_s: float = Field(default=15.0, gt=0)
    # The growth worker (`vitals growth`: funnel, groups, experiments; docs/growth.md), a
    # process and consumer group of its own next to the scorer. `vitals demo` starts it when on.
    growth_enabled: bool = True
    # Growth batches: as the scorer's (scorer_batch_records, scorer_batch_within_s).
    growth_batch_records: int = Field(default=2_000, ge=1)
    growth_batch_within_s: float = Field(default=0.02, gt=0)
    # Experiments are analysed this often; a decision is a daily-scale event, seconds are plenty.
    growth_decision_check_s: float = Field(default=30.0, gt=0)
    # The tenant's growth configuration (TOML: lead scoring, MQL threshold, group thresholds,
    # activation event, registered experiments; docs/growth.md). Read by the growth worker and
    # the API; unset: the documented defaults and the demo's example experiment.
    growth_config: Path | None = None

    # --- projector (services/projector) ------------------------------------------------------
    # Records per fetch = per projection batch: large enough that Redis round trips and script
    # calls are amortised (one call per shard per batch), small enough that a batch is a few MB.
    projector_batch_records: int = Field(default=5_000, ge=1)
    # How long a fetch waits for records when `scores` is quiet: also the longest a snapshot waits
    # to be projected once its batch is not full.
    projector_fetch_timeout_ms: int = Field(default=50, ge=1)
    # `vitals rebuild-redis`: a fetch that returns nothing for this long while offsets remain
    # means the broker is gone.
    rebuild_stall_timeout_s: float = Field(default=30.0, gt=0)

    # --- HTTP services -----------------------------------------------------------------------
    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8081
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    # Base of the links put in alerts ("open customer") and the dashboard.
    public_url: str = "http://127.0.0.1:8080"
    # --- ingest (services/ingest; docs/ingest.md) ---------------------------------------------
    # Events timestamped further ahead of the ingest clock than this are rejected (per event, the
    # rest of the batch goes on). 5 minutes: NTP-synced servers are within milliseconds and phones
    # within seconds to a minute; anything further ahead is a wrong clock, and an event from the
    # future would hold the customer's latest-event time (and so the scorer's lateness window)
    # hostage. The same 5 minutes Kerberos and Stripe's signature tolerance allow.
    max_future_skew_s: float = Field(default=300.0, ge=0)
    # Who the customer is for Segment/RudderStack calls. "b2b": the account (context.groupId or
    # properties.customer_id); identify calls are accepted and ignored. "b2c": the person
    # (userId); identify calls set the profile, group calls are ignored.
    ingest_customer_model: Literal["b2b", "b2c"] = "b2b"
    # Extra Segment/RudderStack track names -> contract type, as JSON, over the built-in table
    # (services/ingest/segment_names.py), e.g. {"Plan Changed": "subscription:upgraded",
    # "Heartbeat": "ignore"}.
    ingest_event_names: dict[str, str] = Field(default_factory=dict)
    # Stripe webhook endpoint signing secret (whsec_...); empty = the Stripe door is closed (404).
    stripe_webhook_secret: SecretStr = SecretStr("")
    # Oldest signature timestamp accepted (replay protection); Stripe's own libraries use 300 s.
    stripe_webhook_tolerance_s: int = Field(default=300, ge=1)
    # Subscription metadata key holding the Vitals customer_id; without it, Stripe's customer id.
    stripe_customer_id_key: str = "vitals_customer_id"
    # --- notifier ------------------------------------------------------------------------------
    # Alerts read from `alerts` per poll.
    notifier_poll_max_records: int = Field(default=500, ge=1)
    # Destinations edited through the API reach a running notifier within this many seconds.
    notifier_destinations_refresh_s: float = Field(default=15.0, ge=0)
    # Per destination: beyond this many waiting alerts the destination is effectively down; new
    # alerts go straight to dead letters rather than growing memory without bound.
    notifier_queue_max: int = Field(default=10_000, ge=1)
    # Destinations written to Redis when the notifier starts (JSON list, as PUT /v1/destinations
    # takes them); empty = keep what Redis holds. Secret: it carries webhook URLs and signing keys.
    alert_destinations: SecretStr = SecretStr("")
    # API keys: "key:scope1,scope2;key2:scope". Empty = open (development only).
    api_keys: SecretStr = SecretStr("")
    environment: Literal["dev", "prod"] = "dev"

    @model_validator(mode="after")
    def _derive_local_addresses(self) -> Settings:
        if not self.kafka_bootstrap.strip():
            self.kafka_bootstrap = f"127.0.0.1:{self.kafka_port}"
        if not self.redis_url.strip():
            self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        if self.environment == "prod" and not self.api_keys.get_secret_value():
            raise ValueError("VITALS_API_KEYS must be set when VITALS_ENVIRONMENT=prod")
        return self


def default_of(name: str) -> Any:
    """The documented default of setting ``name``: for a class that is also built without
    Settings (tests, tools) and must not keep a second copy of the number."""
    return Settings.model_fields[name].default


def to_env(settings: Settings) -> dict[str, str]:
    """The ``VITALS_*`` environment that rebuilds ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue  # unset stays unset (the string "None" would read as a value)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, dict | list):
            value = json.dumps(value)  # complex fields are read back as JSON
        env[f"VITALS_{name.upper()}"] = str(value)
    return env
