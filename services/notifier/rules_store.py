"""Alert rule settings changed at run time: overrides of ``AlertConfig`` kept in Redis.

The API validates and writes the overrides (``PUT /v1/alert-rules``); the scorer polls
``RulesStore.get_overrides`` and swaps in ``apply_overrides(config, overrides)``. Overrides only
name the fields that differ from the code defaults (services/core/config.py), so a default
changed in a release still applies to every field nobody overrode.

``apply_overrides`` is pure (no Redis), so the scorer and tests apply the same function.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vitals.core.alert_rules import RULES
from vitals.core.config import AlertConfig, ScoringConfig
from vitals.platform.keyspace import RULES_KEY

# Upper bound of every "days" setting: beyond a year a rule no longer describes a change
# worth paging anyone about, and a typo (700 for 7.00) is caught rather than silencing a rule.
MAX_DAYS = 365.0


class AlertRulesOverrides(BaseModel):
    """The ``AlertConfig`` fields that may be overridden, with their bounds; None = the default.

    Units as in ``AlertConfig``: days and score points (0-100).
    """

    model_config = ConfigDict(extra="forbid")

    gone_quiet_days: float | None = Field(default=None, gt=0, le=MAX_DAYS)
    health_drop_points: float | None = Field(default=None, gt=0, le=100)
    health_drop_window_days: float | None = Field(default=None, gt=0, le=MAX_DAYS)
    exit_margin_points: float | None = Field(default=None, ge=0, le=100)
    cooldown_days: float | None = Field(default=None, ge=0, le=MAX_DAYS)
    max_timer_horizon_days: float | None = Field(default=None, gt=0, le=MAX_DAYS)
    # Rule names switched off (a subset of vitals.core.alert_rules.RULES).
    disabled: list[str] | None = None

    @field_validator("disabled")
    @classmethod
    def _known_rules(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - set(RULES))
        if unknown:
            raise ValueError(f"unknown rule(s) {', '.join(unknown)}; rules are: {', '.join(RULES)}")
        # Canonical order (that of RULES), no repeats: equal settings compare and store equal.
        return [rule for rule in RULES if rule in value]

    def as_dict(self) -> dict[str, Any]:
        """Only the fields set, JSON-ready."""
        return self.model_dump(exclude_none=True)


def validate_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` checked and normalised; raises pydantic ``ValidationError`` (a ValueError)."""
    return AlertRulesOverrides.model_validate(overrides).as_dict()


def apply_overrides(config: ScoringConfig, overrides: dict[str, Any]) -> ScoringConfig:
    """``config`` with its ``alerts`` fields replaced by ``overrides`` (validated first).

    Pure: returns a new ``ScoringConfig``; ``config`` is not changed. Empty overrides return
    ``config`` itself. Raises ``ValueError`` for invalid overrides.
    """
    fields = validate_overrides(overrides)
    if not fields:
        return config
    if "disabled" in fields:
        fields["disabled"] = tuple(fields["disabled"])
    return dataclasses.replace(config, alerts=dataclasses.replace(config.alerts, **fields))


def config_as_dict(alerts: AlertConfig) -> dict[str, Any]:
    """An ``AlertConfig`` as JSON-ready data (tuples as lists)."""
    data = dataclasses.asdict(alerts)
    data["disabled"] = list(alerts.disabled)
    return data


class RulesStore:
    """One Redis string, ``vitals:alerts:rules``: the overrides as JSON (no key = no overrides)."""

    def __init__(self, redis: Any, key: str = RULES_KEY) -> None:
        self._redis = redis
        self._key = key

    async def get_overrides(self) -> dict[str, Any]:
        """The stored overrides, validated; ``{}`` when none.

        Raises ``ValueError`` when the stored value is invalid (written by hand or by a newer
        version): keep the current config and fix it with ``PUT /v1/alert-rules``.
        """
        raw = await self._redis.get(self._key)
        if raw is None:
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ValueError(
                f"Redis key {self._key} is not JSON; rewrite it with PUT /v1/alert-rules"
            ) from None
        if not isinstance(data, dict):
            raise ValueError(f"Redis key {self._key} is not a JSON object; rewrite it")
        return validate_overrides(data)

    async def put_overrides(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """Validate and store ``overrides`` (replacing any earlier ones); returns them normalised.

        Fields left out go back to their defaults; ``{}`` removes every override.
        """
        fields = validate_overrides(overrides)
        if fields:
            await self._redis.set(self._key, orjson.dumps(fields))
        else:
            await self._redis.delete(self._key)
        return fields
