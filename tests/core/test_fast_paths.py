"""Fast paths against the slow paths they replace, over many simulated customers.

Every fast path of the scorer's hot loop (value-only temperature, next_check's memoised curves)
must give the very same numbers as the code it stands in for: these tests fold a simulated month
of a mixed tenant (subscribers, trials, buyers, payment failures, feedback, renewal dates) and
compare the two at many moments per customer.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from vitals.core import health as health_model
from vitals.core import risk as risk_model
from vitals.core import temperature as temperature_model
from vitals.core import timers
from vitals.core.config import DEFAULT_CONFIG, ScoringConfig
from vitals.core.decay import SECONDS_PER_DAY
from vitals.core.events import parse_event
from vitals.core.params import DEFAULT_PARAMS, ScoringParams
from vitals.core.state import CustomerState
from vitals.core.usage import SilentUsage, usage_expected
from vitals.scorer.offline import OfflineScorer
from vitals.tools.sim.generator import simulate

START = datetime(2025, 1, 1, tzinfo=UTC)
CUSTOMERS = 100
DAYS = 75


@pytest.fixture(scope="module")
def engine() -> OfflineScorer:
    engine = OfflineScorer()
    sim = simulate(CUSTOMERS, START, DAYS, seed=11, usage_scale=0.3)
    for raw in sim.iter_events():
        engine.apply(parse_event(raw))
    # Branches a simulated month may miss: a trial, a free plan, no billing at all (the prior),
    # a payment failure with a low CSAT near a stated renewal date.
    stamp = "2025-02-01T10:00:00Z"
    extra = [
        ("trial-1", "subscription", {"name": "started", "properties": {"trial": True}}),
        ("free-1", "subscription", {"name": "started", "amount": 0.0}),
        ("prior-1", "profile", {"properties": {"plan": "team", "seats": 5}}),
        ("late-1", "subscription", {"name": "started", "amount": 50.0}),
        ("late-1", "profile", {"properties": {"renewal_date": "2025-02-20"}}),
        ("late-1", "subscription", {"name": "payment_failed"}),
        ("late-1", "feedback", {"name": "csat", "score": 1.0}),
    ]
    for number, (customer, kind, fields) in enumerate(extra):
        raw = {"event_id": f"x{number}", "customer_id": customer, "type": kind, "timestamp": stamp}
        engine.apply(parse_event({**raw, **fields}))
    return engine


def moments(state: CustomerState, rng: random.Random) -> list[float]:
    """Times worth checking: before, at and after the last event, into the timer horizon, and
    across a renewal date when there is one."""
    out = [state.last_ts, state.last_ts - 3_600.0, state.first_ts]
    out += [state.last_ts + rng.uniform(0, 120) * SECONDS_PER_DAY for _ in range(12)]
    if state.billing_anchor_ts:
        out.append(state.billing_anchor_ts + 31 * SECONDS_PER_DAY)
    return out


def test_value_only_temperature_equals_the_full_evaluation(engine: OfflineScorer) -> None:
    rng = random.Random(5)
    config, params = DEFAULT_CONFIG, DEFAULT_PARAMS
    models = {"sbg": 0, "trial": 0, "free": 0, "cancelled": 0, "mbgnbd_poisson": 0, "prior": 0}
    adjusted = 0
    for state in engine.states.values():
        curve = temperature_model.TemperatureCurve(state, params.models, config.temperature)
        for t in moments(state, rng):
            full = temperature_model.evaluate(
                state, t, params.models, config.temperature, config.bands
            )
            assert curve.at(t) == full.raw, (state.customer_id, t)
            models[full.model] += 1
            adjusted += len(full.components) > 5
    # The population covers the model branches and the adjustments the fast path re-implements.
    assert all(count > 0 for count in models.values()), models
    assert adjusted > 0


def test_silent_health_and_risk_equal_the_full_functions(engine: OfflineScorer) -> None:
    rng = random.Random(7)
    config, params = DEFAULT_CONFIG, DEFAULT_PARAMS
    compared = 0
    for state in engine.states.values():
        now = state.last_ts
        expected = usage_expected(state, now, params.norms.usage_customers, config)
        fast = timers.SilentScores(state, params, config, expected)
        slow = SilentUsage(state, config.health, expected)
        for t in moments(state, rng):
            usage = slow.at(t)
            health = health_model.value(usage, params.norms, config.health)
            h, trend, quiet = fast.health_at(t)
            assert (h, trend, quiet) == (health, usage.trend, usage.quiet_days or 0.0)
            temperature = rng.uniform(0.0, 100.0)
            assert fast.risk(temperature, h, trend, quiet) == risk_model.value(
                temperature, health, usage, config.risk
            )
            compared += health is not None
    assert compared > 500


def reference_next_check(
    state: CustomerState, now: float, params: ScoringParams, config: ScoringConfig
) -> float:
    """next_check as it was before the fast paths: full temperature evaluations, no memo, and a
    plain bisection over the whole horizon for every band."""
    candidates = timers.closed_form_checks(state, now, config)
    models = params.models

    def temperature_at(t: float) -> float:
        return temperature_model.evaluate(state, t, models, config.temperature, config.bands).raw

    expected = usage_expected(state, now, params.norms.usage_customers, config)
    silent = SilentUsage(state, config.health, expected)

    def health_at(t: float) -> float:
        h = health_model.value(silent.at(t), params.norms, config.health)
        return h if h is not None else 0.0

    def risk_at(t: float) -> float:
        usage = silent.at(t)
        h = health_model.value(usage, params.norms, config.health)
        return risk_model.value(temperature_at(t), h, usage, config.risk)

    return timers.first_band_crossing(
        state,
        now,
        config,
        candidates,
        temperature_at,
        health_at,
        risk_at,
        stop_early=False,
        first_crossing=timers.bisect_first_crossing,
    )


def test_next_check_equals_the_bisection_over_full_evaluations(engine: OfflineScorer) -> None:
    rng = random.Random(9)
    config, params = DEFAULT_CONFIG, DEFAULT_PARAMS
    crossing = 0
    for state in engine.states.values():
        for now in (state.last_ts, state.last_ts + rng.uniform(0, 30) * SECONDS_PER_DAY):
            fast = timers.next_check(state, now, params, config)
            slow = reference_next_check(state, now, params, config)
            assert fast == slow, (state.customer_id, now)
            crossing += fast < now + config.alerts.max_timer_horizon_days * SECONDS_PER_DAY
    assert crossing > 20


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_clv_expected_curve_equals_one_scalar_call_per_step(model: str) -> None:
    from vitals.core.clv import _expected_curve
    from vitals.core.models import bgnbd, mbgnbd

    scalar = bgnbd.expected_purchases if model == "bgnbd" else mbgnbd.expected_purchases
    rng = random.Random(3)
    uptos = [min(30.0 * k, 365.0) for k in range(1, 14)]
    for _ in range(400):
        x = float(rng.randrange(0, 40))
        t_x = rng.uniform(0, 400) if x else 0.0
        T = t_x + rng.uniform(0, 400)
        params = bgnbd.BGParams(
            rng.uniform(0.05, 5),
            rng.uniform(0.5, 200),
            rng.choice([rng.uniform(0.05, 5), 1.0 + 1e-7]),
            rng.uniform(0.05, 20),
        )
        fast = _expected_curve(model, uptos, x, t_x, T, params)  # type: ignore[arg-type]
        slow = [scalar(t, x, t_x, T, *params) for t in uptos]
        assert fast == slow or all(
            (f != f and s != s) or f == s for f, s in zip(fast, slow, strict=True)
        ), (x, t_x, T, params)


def _mutations(raw: dict[str, object], rng: random.Random) -> list[dict[str, object]]:
    """Variants of a valid event that break (or just bend) the contract one field at a time."""
    odd_values: list[object] = [
        None,
        "",
        "x" * 129,
        12,
        12.5,
        -1.0,
        True,
        float("nan"),
        float("inf"),
        2**60,
        "12.5",
        [],
        {},
        {"order_id": 5},
        {"plan": "pro", 3: "x"},
        "eur",
        "EUR",
        "2026-02-30T10:00:00Z",
        "2026-01-01T10:00:00+01:00",
        "renewed",
        "nps",
        7,
    ]
    out = []
    for key in [*raw, "unknown", "amount", "score", "currency", "properties", "user_id"]:
        for value in rng.sample(odd_values, 6):
            variant = dict(raw)
            variant[key] = value
            out.append(variant)
        dropped = dict(raw)
        dropped.pop(key, None)
        out.append(dropped)
    return out


def test_fast_event_parsing_builds_what_pydantic_builds_and_never_more() -> None:
    from pydantic import ValidationError

    from vitals.core.events import Event, fast_event

    rng = random.Random(13)
    sim = simulate(60, START, 40, seed=17, usage_scale=0.3)
    valid = list(sim.iter_events())
    fast_hits = 0
    variants = 0
    for raw in valid:
        fast = fast_event(raw)
        assert fast is not None, raw  # the stream's events all take the fast path
        fast_hits += 1
    for raw in rng.sample(valid, 400):
        for variant in [raw, *_mutations(raw, rng)]:
            variants += 1
            fast = fast_event(variant)
            try:
                slow: Event | None = Event.model_validate(variant)
            except ValidationError:
                slow = None
            if fast is None:
                continue
            assert slow is not None, variant  # never accepts what the validator rejects
            assert fast == slow, variant
            assert fast.model_fields_set == slow.model_fields_set
            assert fast.ts == slow.ts
            assert fast.model_dump(exclude_none=True) == slow.model_dump(exclude_none=True)
            assert [type(v) for v in fast.__dict__.values()] == [
                type(v) for v in slow.__dict__.values()
            ]
    assert fast_hits == len(valid) and variants > 10_000
