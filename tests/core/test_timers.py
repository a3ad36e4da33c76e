"""Silence timers: the next predicted crossing of a quiet customer, checked against the scores."""

from __future__ import annotations

import pytest

from vitals.core import health as health_model
from vitals.core.config import DEFAULT_CONFIG, band_of
from vitals.core.params import DEFAULT_PARAMS
from vitals.core.snapshot import evaluate
from vitals.core.timers import FIRE_AFTER_S, next_check
from vitals.core.usage import measure
from vitals.scorer.offline import OfflineScorer

from .conftest import DAY, EventFactory, at

HORIZON_S = DEFAULT_CONFIG.alerts.max_timer_horizon_days * DAY


def engine_with(events: list) -> OfflineScorer:
    engine = OfflineScorer()
    engine.apply_all(events)
    return engine


def test_gone_quiet_crossing_is_last_usage_plus_the_quiet_days(make: EventFactory) -> None:
    # Steady daily use for 40 days; 8 days of silence later the next crossing is the 10-day mark
    # unless a health or risk band comes first, so check from just before the mark.
    engine = engine_with([make.usage(d, user_id="u1") for d in range(40)])
    state = engine.states["acme"]
    now = state.last_usage_ts + 9.99 * DAY
    due = next_check(state, now, DEFAULT_PARAMS, DEFAULT_CONFIG)
    assert due == pytest.approx(state.last_usage_ts + 10 * DAY + FIRE_AFTER_S)


def test_repurchase_crossing_is_last_purchase_plus_k_mean_intervals(make: EventFactory) -> None:
    engine = engine_with([make.purchase(d) for d in (0, 10, 20, 30)])
    state = engine.states["acme"]
    # Mean interval 10 days: overdue (1.5) at day 45, lapsed (3) at day 60.
    assert next_check(state, at(44.9), DEFAULT_PARAMS, DEFAULT_CONFIG) <= at(45) + FIRE_AFTER_S
    due = next_check(state, at(50), DEFAULT_PARAMS, DEFAULT_CONFIG)
    assert due <= at(60) + FIRE_AFTER_S


def test_health_band_crossing_is_found_to_the_second(make: EventFactory) -> None:
    engine = engine_with([make.usage(d, user_id=f"u{d % 3}") for d in range(60)])
    state = engine.states["acme"]
    now = state.last_ts
    config = DEFAULT_CONFIG

    def health_at(t: float) -> float:
        value = health_model.value(
            measure(state, t, config.health), DEFAULT_PARAMS.norms, config.health
        )
        assert value is not None
        return value

    band_now = band_of(health_at(now), config.bands.health)
    due = next_check(state, now, DEFAULT_PARAMS, config)
    assert now < due <= now + HORIZON_S + FIRE_AFTER_S
    snapshot_before = evaluate(state, due - FIRE_AFTER_S - 2.0, DEFAULT_PARAMS, config)
    snapshot_at = evaluate(state, due, DEFAULT_PARAMS, config)
    moved = (
        snapshot_at["health"]["band"] != band_now
        or snapshot_at["quadrant"] != snapshot_before["quadrant"]
        or snapshot_at["risk"]["band"] != snapshot_before["risk"]["band"]
        or due - FIRE_AFTER_S >= state.last_usage_ts + config.alerts.gone_quiet_days * DAY
        or due - FIRE_AFTER_S >= now + HORIZON_S
    )
    assert moved, "the timer fired where nothing crossed"
    # Nothing crossed a health band before the predicted moment.
    assert snapshot_before["health"]["band"] == band_now


def test_purchase_customer_timer_lands_on_the_temperature_band_edge(make: EventFactory) -> None:
    engine = engine_with([make.purchase(d) for d in (0, 7, 14, 21, 28)])
    state = engine.states["acme"]
    now = at(28)
    bands = DEFAULT_CONFIG.bands.temperature
    start_band = evaluate(state, now, DEFAULT_PARAMS, DEFAULT_CONFIG)["temperature"]["band"]
    t = now
    crossed_bands = []
    for _ in range(12):
        t = next_check(state, t, DEFAULT_PARAMS, DEFAULT_CONFIG)
        before = evaluate(state, t - FIRE_AFTER_S - 2.0, DEFAULT_PARAMS, DEFAULT_CONFIG)
        after = evaluate(state, t, DEFAULT_PARAMS, DEFAULT_CONFIG)
        if before["temperature"]["band"] != after["temperature"]["band"]:
            crossed_bands.append(after["temperature"]["band"])
    # Silence walks the customer down the bands and a timer lands on each edge.
    names = [name for name, _ in bands]
    assert crossed_bands, "no timer landed on a temperature band edge"
    assert all(names.index(b) > names.index(start_band) for b in crossed_bands)


def test_nothing_to_predict_means_a_recheck_at_the_horizon(make: EventFactory) -> None:
    engine = engine_with([make.profile(0, owner="dana")])
    state = engine.states["acme"]
    due = next_check(state, at(1), DEFAULT_PARAMS, DEFAULT_CONFIG)
    assert due <= at(1) + HORIZON_S + FIRE_AFTER_S
