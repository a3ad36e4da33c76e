from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.events import Event
from vitals.core.fold import apply_event
from vitals.core.health import Health, evaluate
from vitals.core.norms import Norms
from vitals.core.state import CustomerState
from vitals.core.usage import UsageMeasures, measure

from .conftest import EventFactory, at

CFG = DEFAULT_CONFIG
NORMS = Norms()


def health_at(state: CustomerState, day: float, norms: Norms = NORMS) -> Health | None:
    return evaluate(measure(state, at(day), CFG.health), norms, CFG.health, CFG.bands)


def fold(events: list[Event]) -> CustomerState:
    state = CustomerState("acme")
    for event in events:
        assert apply_event(state, event, CFG) == "applied"
    return state


def test_never_used_customer_has_no_health(make: EventFactory) -> None:
    state = fold([make.purchase(1), make.subscription(2, "started", amount=10.0)])
    assert health_at(state, 5) is None


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    usage=st.lists(
        st.tuples(
            st.integers(0, 60 * 24),
            st.sampled_from(["a", "b", "c", "d", "e"]),
            st.sampled_from(["u1", "u2", "u3"]),
        ),
        min_size=1,
        max_size=80,
    ),
    seats=st.sampled_from([None, 2, 10]),
    gaps=st.lists(st.floats(min_value=0.01, max_value=40.0), min_size=2, max_size=8),
)
def test_silence_lowers_health_monotonically(
    make: EventFactory, usage: list[tuple[int, str, str]], seats: int | None, gaps: list[float]
) -> None:
    events = [make.usage(hour / 24, name=name, user_id=user) for hour, name, user in sorted(usage)]
    if seats is not None:
        events.insert(0, make.profile(0, seats=seats))
    state = fold(events)
    last_day = (state.last_ts - at(0)) / 86_400.0
    day, previous = last_day, health_at(state, last_day)
    assert previous is not None
    for gap in gaps:
        day += gap
        current = health_at(state, day)
        assert current is not None
        assert current.value <= previous.value + 1e-9
        for name, score in current.components.items():
            assert score <= previous.components[name] + 1e-9, name
        previous = current
    assert health_at(state, last_day + 365).value < health_at(state, last_day).value  # type: ignore[union-attr]


def test_health_is_a_weighted_mean_of_its_components(make: EventFactory) -> None:
    state = fold([make.usage(d / 4, name=f"f{d % 6}") for d in range(60)])
    result = health_at(state, 15)
    assert result is not None
    h = CFG.health
    weights = {"level": h.weight_level, "breadth": h.weight_breadth, "trend": h.weight_trend}
    expected = (
        100 * sum(result.components[k] * w for k, w in weights.items()) / sum(weights.values())
    )
    assert result.value == pytest.approx(expected, abs=0.01)
    assert 0 <= result.value <= 100


def test_level_is_two_thirds_at_the_population_median() -> None:
    usage = UsageMeasures(
        short_rate=5.0,
        long_rate=5.0,
        trend=1.0,
        breadth=4.0,
        active_users=0,
        seats=None,
        quiet_days=0.0,
    )
    result = evaluate(usage, NORMS, CFG.health, CFG.bands)
    assert result is not None
    assert result.components["level"] == pytest.approx(2 / 3, abs=1e-4)
    assert result.components["breadth"] == pytest.approx(2 / 3, abs=1e-4)
    assert result.components["trend"] == 1.0


def test_seats_component_is_the_share_of_seats_with_an_active_user(make: EventFactory) -> None:
    events = [make.profile(0, seats=10)] + [
        make.usage(1 + i * 0.1, user_id=f"u{i}") for i in range(3)
    ]
    state = fold(events)
    assert health_at(state, 2).components["seats_active"] == pytest.approx(0.3)  # type: ignore[union-attr]
    # 30 days on, nobody is active any more.
    assert (
        health_at(state, 1.2 + CFG.health.active_user_days + 0.1).components["seats_active"] == 0.0
    )  # type: ignore[union-attr]


def test_more_active_users_than_seats_caps_at_one(make: EventFactory) -> None:
    events = [make.profile(0, seats=2)] + [
        make.usage(1 + i * 0.1, user_id=f"u{i}") for i in range(5)
    ]
    assert health_at(fold(events), 2).components["seats_active"] == 1.0  # type: ignore[union-attr]


def test_no_seats_in_the_profile_means_no_seats_component(make: EventFactory) -> None:
    state = fold([make.usage(1, user_id="u1")])
    assert "seats_active" not in health_at(state, 2).components  # type: ignore[union-attr]


def test_seats_sent_as_a_whole_float_count_like_an_integer(make: EventFactory) -> None:
    # The contract accepts 10.0 for seats (the same JSON number as 10).
    events = [make.profile(0, seats=10.0)] + [
        make.usage(1 + i * 0.1, user_id=f"u{i}") for i in range(3)
    ]
    result = health_at(fold(events), 2)
    assert result is not None
    assert result.components.get("seats_active") == pytest.approx(0.3)


def test_a_falling_trend_is_explained_in_words(make: EventFactory) -> None:
    state = fold([make.usage(d / 4) for d in range(0, 240)])  # 4/day for 60 days, then silence
    result = health_at(state, 70)
    assert result is not None
    texts = {r.code: r.text for r in result.reasons}
    assert texts["usage_drop"].startswith("no product activity for 10 days; usage down ")
    assert all(r.impact <= 0 for r in result.reasons)


def test_a_brand_new_user_is_not_told_activity_stopped(make: EventFactory) -> None:
    state = fold([make.usage(0)])
    result = health_at(state, 0.01)
    assert result is not None
    assert all("no product activity" not in r.text for r in result.reasons)


def test_silent_usage_projection_equals_the_full_measure(make: EventFactory) -> None:
    """The timers' O(log n) projection of a silent customer reads what ``measure`` reads."""
    from vitals.core.config import DEFAULT_CONFIG
    from vitals.core.usage import SilentUsage, measure
    from vitals.scorer.offline import OfflineScorer

    engine = OfflineScorer()
    engine.apply_all(
        [make.usage(d / 3, name=f"f{d % 9}", user_id=f"u{d % 17}") for d in range(120)]
    )
    state = engine.states["acme"]
    silent = SilentUsage(state, DEFAULT_CONFIG.health)
    for days_later in (0.0, 0.5, 3.0, 14.0, 31.0, 90.0):
        t = state.last_ts + days_later * 86_400.0
        fast, full = silent.at(t), measure(state, t, DEFAULT_CONFIG.health)
        assert fast.breadth == pytest.approx(full.breadth, rel=1e-12)
        assert fast.active_users == full.active_users
        assert (fast.short_rate, fast.long_rate, fast.trend) == (
            full.short_rate,
            full.long_rate,
            full.trend,
        )
