"""Settings shared by every Vitals service, read once from the environment (prefix ``VITALS_``).

Each service builds one ``Settings`` at start-up and passes it down; nothing reads the environment
later. Defaults run the whole stack on loopback with the ports ``deploy/stack.sh`` uses, so a fresh
checkout works without any configuration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

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
    # The growth agent (funnel, groups, experiments; docs/growth.md) inside the scorer. Off by
    # default: with it on, a scorer restarted after a SIGKILL was seen to stop scoring (a known
    # bug of the growth agent, issue 13; tests/e2e/test_faults_scorer.py). `vitals demo` turns it
    # on so the growth page fills.
    growth_enabled: bool = False

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


def to_env(settings: Settings) -> dict[str, str]:
    """The ``VITALS_*`` environment that rebuilds ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, dict | list):
            value = json.dumps(value)  # complex fields are read back as JSON
        env[f"VITALS_{name.upper()}"] = str(value)
    return env
