"""The silence timers' root finder against the bisection it replaced.

``timers._first_crossing`` finds a band crossing with a few evaluations; ``bisect_first_crossing``
is the plain bisection to BISECTION_TOLERANCE_S it stands in for. Under the monotonicity the
timers rely on (a silent customer's temperature and health only fall, risk only rises) the finder
must return the bisection's very float, not merely one within the tolerance: the timer fires at
the same moment it did. Checked on generated monotone curves (smooth, kinked, stepped, flat) and
on generated customers through ``next_check`` itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitals.core import temperature as temperature_model
from vitals.core import timers
from vitals.core.config import DEFAULT_CONFIG
from vitals.core.decay import SECONDS_PER_DAY
from vitals.core.params import DEFAULT_PARAMS
from vitals.core.state import CustomerState
from vitals.core.usage import usage_expected
from vitals.scorer.offline import OfflineScorer

from .conftest import EventFactory

START = 1_735_689_600.0  # a Unix time of the size the scorer sees (2025-01-01)
WEEK = 7 * SECONDS_PER_DAY


def falling_curve(shape: str, scale: float, kink: float, level: float) -> Callable[[float], float]:
    """A non-increasing curve of t in [START, START + a week]: smooth decays, a kink (flat, then
    falling: a rhythm trend, a cap), steps (active users leaving the window), a plateau."""

    def curve(t: float) -> float:
        x = (t - START) / scale
        if shape == "exponential":
            return level * 2.0 ** (-x)
        if shape == "saturating":
            rate = 2.0 ** (-x)
            return 100.0 * rate / (rate + level / 100.0)
        if shape == "kinked":
            return level if t <= START + kink else level * kink / (t - START)
        if shape == "steps":
            return level - 5.0 * math.floor(x)
        if shape == "sigmoid":
            return 100.0 * temperature_model.sigmoid(kink / scale - x)
        return level  # flat: never crosses

    return curve


curves = st.tuples(
    st.sampled_from(["exponential", "saturating", "kinked", "steps", "sigmoid", "flat"]),
    st.floats(60.0, 10 * SECONDS_PER_DAY),  # scale (s)
    st.floats(1.0, WEEK),  # kink (s after START)
    st.floats(1.0, 100.0),  # level
)


def counted(
    search: Callable[..., float | None], value_at: Callable[[float], float], *args: object
) -> tuple[float | None, int]:
    """(the search's answer, how many values it read)."""
    calls = 0

    def read(t: float) -> float:
        nonlocal calls
        calls += 1
        return value_at(t)

    return search(read, *args), calls


def test_smooth_curves_take_far_fewer_values_than_the_bisection() -> None:
    used = bisected = crossings = 0
    for shape in ("exponential", "saturating", "sigmoid"):
        # Crossings hours to days into the week, as a silent customer's health has them.
        for scale in (3_600.0, 86_400.0, 3 * 86_400.0):
            for threshold in (20.0, 40.0, 60.0, 80.0):
                curve = falling_curve(shape, scale, 2 * 86_400.0, 90.0)
                found, n = counted(
                    timers._first_crossing, curve, threshold, START, START + WEEK, True
                )
                reference, m = counted(
                    timers.bisect_first_crossing, curve, threshold, START, START + WEEK, True
                )
                assert found == reference
                crossings += found is not None
                used, bisected = used + n, bisected + m
    assert crossings >= 24
    assert used <= bisected / 2, (used, bisected)


@settings(max_examples=600, deadline=None)
@given(
    curve=curves,
    threshold=st.floats(0.0, 100.0),
    falling=st.booleans(),
    span=st.floats(1.0, WEEK),
    not_after=st.one_of(st.just(math.inf), st.floats(0.0, 2 * WEEK)),
    touching=st.booleans(),
)
def test_finder_returns_the_bisections_float(
    curve: tuple[str, float, float, float],
    threshold: float,
    falling: bool,
    span: float,
    not_after: float,
    touching: bool,
) -> None:
    down = falling_curve(*curve)
    # A rising curve is a falling one mirrored in value: risk's searches rise.
    value_at = down if falling else (lambda t: 100.0 - down(t))
    level = threshold if falling else 100.0 - threshold
    if touching:  # the threshold is the value now: touched, not crossed
        level = value_at(START)
    end, stop = START + span, START + not_after
    full = timers.bisect_first_crossing(value_at, level, START, end, falling)
    found, used = counted(timers._first_crossing, value_at, level, START, end, falling, stop)
    reference, bisected = counted(
        timers.bisect_first_crossing, value_at, level, START, end, falling, stop
    )
    # Never more than MAX_NARROWING values above the bisection's count (kinks, steps, plateaus).
    assert used <= bisected + timers.MAX_NARROWING
    # Same answer as the bisection's (no tolerance): None only where nothing crosses before the
    # earliest known check, where the bisection with the same bound may return a later crossing.
    if found is not None:
        assert found == full
    if full is not None and full < stop:
        assert found == full == reference
    if full is None:
        assert found is None


def reference_next_check(state: CustomerState, now: float) -> float:
    """next_check with the plain bisection over the whole horizon for every band."""
    config, params = DEFAULT_CONFIG, DEFAULT_PARAMS
    candidates = timers.closed_form_checks(state, now, config)
    curve = temperature_model.TemperatureCurve(state, params.models, config.temperature)
    expected = usage_expected(state, now, params.norms.usage_customers, config)
    silent = timers.SilentScores(state, params, config, expected)

    def health_at(t: float) -> float:
        h = silent.health_at(t)[0]
        return h if h is not None else 0.0

    def risk_at(t: float) -> float:
        h, trend, quiet = silent.health_at(t)
        return silent.risk(curve.at(t), h, trend, quiet)

    return timers.first_band_crossing(
        state,
        now,
        config,
        candidates,
        curve.at,
        health_at,
        risk_at,
        stop_early=False,
        first_crossing=timers.bisect_first_crossing,
    )


usage_days = st.lists(
    st.tuples(st.floats(0.0, 60.0), st.integers(0, 6), st.integers(0, 5)), min_size=0, max_size=40
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    usage=usage_days,
    purchases=st.lists(st.floats(0.0, 60.0), max_size=6),
    subscribed=st.sampled_from(["none", "paid", "trial", "failed"]),
    seats=st.one_of(st.none(), st.integers(1, 12)),
    later=st.floats(0.0, 20.0),
)
def test_next_check_equals_the_bisection_on_generated_customers(
    usage: list[tuple[float, int, int]],
    purchases: list[float],
    subscribed: str,
    seats: int | None,
    later: float,
) -> None:
    make = EventFactory()
    events = [make.profile(0.0, plan="team", **({"seats": seats} if seats else {}))]
    if subscribed != "none":
        trial = {"properties": {"trial": True}} if subscribed == "trial" else {}
        events.append(make.subscription(0.5, "started", amount=40.0, **trial))
    if subscribed == "failed":
        events.append(make.subscription(30.0, "payment_failed"))
    events += [make.purchase(day) for day in purchases]
    events += [
        make.usage(day, name=f"feature.{feature}", user_id=f"u{user}")
        for day, user, feature in usage
    ]
    events.sort(key=lambda event: event.ts)
    engine = OfflineScorer()
    engine.apply_all(events)
    state = engine.states["acme"]
    now = state.last_ts + later * SECONDS_PER_DAY
    assert timers.next_check(state, now, DEFAULT_PARAMS, DEFAULT_CONFIG) == reference_next_check(
        state, now
    )
