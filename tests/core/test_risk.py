from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitals.core.config import DEFAULT_CONFIG, Bands
from vitals.core.health import Health
from vitals.core.risk import evaluate, quadrant
from vitals.core.temperature import Temperature
from vitals.core.usage import UsageMeasures

CFG = DEFAULT_CONFIG
scores = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


def temp(value: float) -> Temperature:
    return Temperature(value=value, band="", model="test", components={}, reasons=[])


def health(value: float) -> Health:
    return Health(value=value, band="", components={}, reasons=[])


@st.composite
def usage_measures(draw: st.DrawFn) -> UsageMeasures:
    return UsageMeasures(
        short_rate=draw(st.floats(0, 50)),
        long_rate=draw(st.floats(0, 50)),
        trend=draw(st.none() | st.floats(0, 5)),
        breadth=draw(st.floats(0, 20)),
        active_users=draw(st.integers(0, 50)),
        seats=draw(st.none() | st.integers(1, 50)),
        quiet_days=draw(st.floats(0, 400)),
    )


def risk_of(t: float, h: float | None, usage: UsageMeasures) -> float:
    return evaluate(temp(t), None if h is None else health(h), usage, CFG.risk, CFG.bands).value


@settings(max_examples=300, deadline=None)
@given(t1=scores, t2=scores, h=st.none() | scores, usage=usage_measures())
def test_lower_temperature_never_lowers_risk(
    t1: float, t2: float, h: float | None, usage: UsageMeasures
) -> None:
    low, high = sorted((t1, t2))
    assert risk_of(low, h, usage) >= risk_of(high, h, usage)


@settings(max_examples=300, deadline=None)
@given(t=scores, h1=scores, h2=scores, usage=usage_measures())
def test_lower_health_never_lowers_risk(
    t: float, h1: float, h2: float, usage: UsageMeasures
) -> None:
    low, high = sorted((h1, h2))
    assert risk_of(t, low, usage) >= risk_of(t, high, usage)


@settings(max_examples=200, deadline=None)
@given(t=scores, h=scores, usage=usage_measures(), more_quiet=st.floats(0, 100))
def test_longer_silence_never_lowers_risk(
    t: float, h: float, usage: UsageMeasures, more_quiet: float
) -> None:
    quieter = UsageMeasures(
        **{**_fields(usage), "quiet_days": (usage.quiet_days or 0.0) + more_quiet}
    )
    assert risk_of(t, h, quieter) >= risk_of(t, h, usage)


def _fields(usage: UsageMeasures) -> dict[str, object]:
    return {name: getattr(usage, name) for name in UsageMeasures.__slots__}  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(t=scores, h=st.none() | scores, usage=usage_measures())
def test_risk_is_a_probability_with_a_band(t: float, h: float | None, usage: UsageMeasures) -> None:
    result = evaluate(temp(t), None if h is None else health(h), usage, CFG.risk, CFG.bands)
    assert 0.0 <= result.value <= 100.0
    assert result.band in {"low", "medium", "high"}


def test_paying_but_not_using_is_riskier_than_paying_and_using() -> None:
    busy = UsageMeasures(5.0, 5.0, 1.0, 5.0, 3, None, 0.0)
    idle = UsageMeasures(0.0, 0.1, 0.2, 0.5, 0, None, 30.0)
    assert risk_of(90, 10, idle) > risk_of(90, 85, busy) + 30


def test_defaults_put_cold_unused_above_90_and_hot_busy_below_10() -> None:
    # RiskConfig's comment (calibrated 2026.11.2: cold, unused ~95 %, hot, busy ~7 %); deeper
    # into the corners the logistic saturates (temperature 10 / health 5 / 60 days quiet gives
    # ~99.8 %, temperature 95 / health 90 gives ~3.5 %).
    busy = UsageMeasures(5.0, 5.0, 1.0, 5.0, 3, None, 1.0)
    idle = UsageMeasures(0.1, 0.2, 0.5, 0.5, 0, None, 14.0)
    assert 90 < risk_of(29, 20, idle) < 96
    assert 5 < risk_of(90, 85, busy) < 10
    assert risk_of(10, 5, UsageMeasures(0.0, 0.0, None, 0.0, 0, None, 60.0)) > 99


def test_never_used_customer_has_no_usage_terms() -> None:
    usage = UsageMeasures(0.0, 0.0, None, 0.0, 0, None, None)
    result = evaluate(temp(60), None, usage, CFG.risk, CFG.bands)
    assert set(result.components) == {"intercept", "from_temperature"}


def test_risk_reasons_carry_the_sign_of_their_move() -> None:
    usage = UsageMeasures(0.0, 0.1, 0.2, 0.5, 0, None, 30.0)
    result = evaluate(temp(95), health(10), usage, CFG.risk, CFG.bands)
    impacts = {r.code: r.impact for r in result.reasons}
    assert impacts["temperature"] < 0  # a hot account pulls risk down
    assert impacts["health"] > 0 and impacts["quiet"] > 0


# --- quadrant ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temperature", "health_value", "expected"),
    [
        (80, 80, "champion"),
        (20, 80, "upsell"),
        (80, 20, "adoption_risk"),
        (20, 20, "at_risk"),
        (50, 50, "champion"),  # thresholds are inclusive lower bounds
        (49.99, 50, "upsell"),
        (50, 49.99, "adoption_risk"),
        (80, None, None),
    ],
)
def test_quadrant_mapping(
    temperature: float, health_value: float | None, expected: str | None
) -> None:
    assert quadrant(temperature, health_value, CFG.bands) == expected


def test_quadrant_thresholds_are_configurable() -> None:
    bands = Bands(quadrant_temperature=70.0, quadrant_health=30.0)
    assert quadrant(60, 40, bands) == "upsell"
