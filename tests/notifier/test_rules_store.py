"""Alert rule overrides: the pure ``apply_overrides`` and the Redis store."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from vitals.core.config import DEFAULT_CONFIG, ScoringConfig
from vitals.notifier.rules_store import RulesStore, apply_overrides, validate_overrides
from vitals.platform.keyspace import RULES_KEY


def test_apply_overrides_replaces_only_the_named_alert_fields() -> None:
    base = ScoringConfig()
    out = apply_overrides(base, {"cooldown_days": 2, "disabled": ["gone_quiet", "at_risk"]})
    assert out.alerts.cooldown_days == 2.0
    # Canonical order of RULES, as a tuple like the dataclass default.
    assert out.alerts.disabled == ("at_risk", "gone_quiet")
    assert out.alerts.gone_quiet_days == base.alerts.gone_quiet_days
    assert dataclasses.replace(out, alerts=base.alerts) == base  # nothing else moved
    # Pure: the input is untouched.
    assert base.alerts.cooldown_days == 7.0 and base.alerts.disabled == ()
    assert apply_overrides(base, {}) is base


@pytest.mark.parametrize(
    "overrides",
    [
        {"cooldown_days": -1},
        {"gone_quiet_days": 0},
        {"health_drop_points": 101},
        {"disabled": ["went_cold"]},
        {"cooldown": 3},  # a typo of a field name must not be ignored
        {"max_timer_horizon_days": 10_000},
    ],
)
def test_apply_overrides_rejects_values_out_of_bounds(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        apply_overrides(DEFAULT_CONFIG, overrides)


def test_validate_names_the_unknown_rule() -> None:
    with pytest.raises(ValidationError) as err:
        validate_overrides({"disabled": ["gone_quiet", "went_cold"]})
    assert "went_cold" in str(err.value) and "payment_failed" in str(err.value)


async def test_put_then_get_round_trips_and_empty_clears(redis: Redis) -> None:
    store = RulesStore(redis)
    assert await store.get_overrides() == {}
    stored = await store.put_overrides({"gone_quiet_days": 14, "disabled": ["at_risk", "at_risk"]})
    assert stored == {"gone_quiet_days": 14.0, "disabled": ["at_risk"]}
    assert await store.get_overrides() == stored
    assert apply_overrides(DEFAULT_CONFIG, await store.get_overrides()).alerts.gone_quiet_days == 14
    with pytest.raises(ValidationError):
        await store.put_overrides({"cooldown_days": -3})
    assert await store.get_overrides() == stored  # a rejected PUT leaves the old overrides
    assert await store.put_overrides({}) == {}
    assert not await redis.exists(RULES_KEY)


async def test_a_corrupt_stored_value_raises_a_clear_error(redis: Redis) -> None:
    await redis.set(RULES_KEY, b"not json")
    with pytest.raises(ValueError, match="PUT /v1/alert-rules"):
        await RulesStore(redis).get_overrides()
    await redis.set(RULES_KEY, b'{"cooldown_days": -5}')
    with pytest.raises(ValueError):
        await RulesStore(redis).get_overrides()
