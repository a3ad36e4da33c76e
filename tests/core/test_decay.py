from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitals.core import decay

DAY = decay.SECONDS_PER_DAY

# (time in seconds within ~200 days, weight) pairs.
events_strategy = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=200 * DAY, allow_nan=False),
        st.floats(min_value=0.0, max_value=50.0, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)
half_lives = st.sampled_from([0.5, 7.0, 28.0, 365.0])


def brute_force(events: list[tuple[float, float]], now: float, half_life_days: float) -> float:
    return sum(w * 2.0 ** (-(now - t) / (half_life_days * DAY)) for t, w in events)


@settings(max_examples=200, deadline=None)
@given(events=events_strategy, half_life=half_lives, order=st.randoms(use_true_random=False))
def test_add_in_any_order_equals_brute_force_sum(
    events: list[tuple[float, float]], half_life: float, order: random.Random
) -> None:
    shuffled = list(events)
    order.shuffle(shuffled)
    value, t = 0.0, 0.0
    for at, weight in shuffled:
        value, t = decay.add(value, t, weight, at, half_life)
    assert t == max(at for at, _ in events)
    now = t + 3 * DAY
    expected = brute_force(events, now, half_life)
    assert decay.value_at(value, t, now, half_life) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_value_halves_after_one_half_life() -> None:
    value, t = decay.add(0.0, 0.0, 8.0, 1_000.0, 7.0)
    assert decay.value_at(value, t, 1_000.0 + 7 * DAY, 7.0) == pytest.approx(4.0)
    assert decay.value_at(value, t, 1_000.0 + 14 * DAY, 7.0) == pytest.approx(2.0)


def test_read_before_last_update_does_not_undecay() -> None:
    value, t = decay.add(0.0, 0.0, 5.0, 10 * DAY, 7.0)
    assert decay.value_at(value, t, 3 * DAY, 7.0) == 5.0


def test_older_event_is_decayed_to_the_counter_time_not_the_reverse() -> None:
    value, t = decay.add(0.0, 0.0, 1.0, 14 * DAY, 7.0)
    value, t = decay.add(value, t, 1.0, 7 * DAY, 7.0)
    assert t == 14 * DAY
    assert value == pytest.approx(1.5)


def test_steady_rate_converges_to_rate_times_half_life_over_ln2() -> None:
    value, t = 0.0, 0.0
    for day in range(400):
        value, t = decay.add(value, t, 3.0, day * DAY, 28.0)
    # Discrete daily events: the continuous formula holds to within the half-step offset.
    assert decay.rate_per_day(value, 28.0) == pytest.approx(3.0, rel=0.02)


def test_crossing_time_is_when_the_silent_counter_reaches_the_threshold() -> None:
    value, t = 10.0, 100 * DAY
    when = decay.crossing_time(value, t, 2.5, 7.0)
    assert when == pytest.approx(t + 14 * DAY)
    assert when is not None
    assert decay.value_at(value, t, when, 7.0) == pytest.approx(2.5)


def test_crossing_time_edge_cases() -> None:
    assert decay.crossing_time(1.0, 50.0, 2.0, 7.0) == 50.0  # already below: crossed now
    assert decay.crossing_time(1.0, 50.0, 0.0, 7.0) is None  # never reaches zero


@settings(max_examples=100, deadline=None)
@given(
    value=st.floats(min_value=1e-3, max_value=1e6),
    threshold=st.floats(min_value=1e-4, max_value=1e6),
    half_life=half_lives,
)
def test_crossing_time_inverts_value_at(value: float, threshold: float, half_life: float) -> None:
    when = decay.crossing_time(value, 0.0, threshold, half_life)
    assert when is not None
    reached = decay.value_at(value, 0.0, when, half_life)
    assert reached == pytest.approx(min(value, threshold), rel=1e-9)
    assert not math.isnan(when)
