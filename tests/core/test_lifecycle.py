from __future__ import annotations

from vitals.core.config import DEFAULT_CONFIG
from vitals.core.lifecycle import StageInputs, next_stage, stage_at
from vitals.scorer.offline import OfflineScorer

from .conftest import DAY, EventFactory, at

LC = DEFAULT_CONFIG.lifecycle
REP = DEFAULT_CONFIG.repurchase


def inputs(trend: float | None, **overrides: object) -> StageInputs:
    base: dict[str, object] = {
        "tenure_days": 200.0,
        "trend": trend,
        "quiet_days": 0.0,
        "subscription": "active",
        "repurchase_ratio": None,
    }
    base.update(overrides)
    return StageInputs(**base)  # type: ignore[arg-type]


def walk(start: str, trends: list[float | None]) -> list[str]:
    """The stage after each step of a trend path, one day apart."""
    stage, since, out = start, 0.0, []
    for i, trend in enumerate(trends, start=1):
        stage, since = next_stage(stage, since, i * DAY, inputs(trend), LC, REP)
        out.append(stage)
    return out


def engine_with_daily_usage(
    make: EventFactory, first_day: int, last_day: int, per_day: int = 4
) -> OfflineScorer:
    engine = OfflineScorer()
    for day in range(first_day, last_day + 1):
        for k in range(per_day):
            engine.apply(make.usage(day + k / per_day))
    return engine


# --- onboarding ----------------------------------------------------------------------------------


def test_onboarding_during_the_first_30_days_whatever_the_trend(make: EventFactory) -> None:
    engine = engine_with_daily_usage(make, 0, 29)
    state = engine.states["acme"]
    assert state.stage == "onboarding"
    assert state.stage_since == at(0)
    snap = engine.snapshot("acme", now=at(29.9))
    assert snap["lifecycle"]["stage"] == "onboarding"
    for trend in (0.1, 1.0, 3.0):
        stage, _ = next_stage("onboarding", 0.0, 10 * DAY, inputs(trend, tenure_days=10.0), LC, REP)
        assert stage == "onboarding"


def test_onboarding_ends_after_30_days(make: EventFactory) -> None:
    engine = engine_with_daily_usage(make, 0, 35)
    assert engine.states["acme"].stage != "onboarding"


# --- growth / decline hysteresis -----------------------------------------------------------------


def test_growth_is_entered_at_the_enter_threshold_and_kept_until_the_exit_threshold() -> None:
    assert walk("stable", [LC.growth_enter]) == ["growth"]
    assert walk("stable", [LC.growth_enter - 0.01]) == ["stable"]
    assert walk("growth", [LC.growth_exit + 0.01]) == ["growth"]
    assert walk("growth", [LC.growth_exit]) == ["stable"]


def test_decline_is_entered_at_the_enter_threshold_and_kept_until_the_exit_threshold() -> None:
    assert walk("stable", [LC.decline_enter]) == ["decline"]
    assert walk("stable", [LC.decline_enter + 0.01]) == ["stable"]
    assert walk("decline", [LC.decline_exit - 0.01]) == ["decline"]
    assert walk("decline", [LC.decline_exit]) == ["stable"]


def test_trend_oscillating_between_growth_thresholds_does_not_flip_the_stage() -> None:
    between = [LC.growth_exit + 0.02, LC.growth_enter - 0.02] * 10
    assert set(walk("growth", between)) == {"growth"}
    assert set(walk("stable", between)) == {"stable"}


def test_trend_oscillating_between_decline_thresholds_does_not_flip_the_stage() -> None:
    between = [LC.decline_enter + 0.02, LC.decline_exit - 0.02] * 10
    assert set(walk("decline", between)) == {"decline"}
    assert set(walk("stable", between)) == {"stable"}


def test_stage_since_is_kept_while_the_stage_holds() -> None:
    stage, since = next_stage("growth", 5 * DAY, 40 * DAY, inputs(1.1), LC, REP)
    assert (stage, since) == ("growth", 5 * DAY)
    stage, since = next_stage("growth", 5 * DAY, 40 * DAY, inputs(1.0), LC, REP)
    assert (stage, since) == ("stable", 40 * DAY)


def test_cold_temperature_at_read_time_means_decline() -> None:
    cold = inputs(1.0, temperature=LC.decline_temperature - 1)
    assert next_stage("stable", 0.0, DAY, cold, LC, REP)[0] == "decline"


def test_overdue_repurchase_without_usage_means_decline() -> None:
    overdue = inputs(None, subscription="none", repurchase_ratio=REP.overdue_ratio)
    assert next_stage("stable", 0.0, DAY, overdue, LC, REP)[0] == "decline"


# --- churned and reactivated ---------------------------------------------------------------------


def test_cancellation_means_churned_at_once(make: EventFactory) -> None:
    engine = OfflineScorer()
    engine.apply(make.subscription(0, "started", amount=50.0))
    engine.apply(make.usage(1))
    engine.apply(make.subscription(40, "cancelled"))
    state = engine.states["acme"]
    assert (state.stage, state.stage_since) == ("churned", at(40))
    assert engine.snapshot("acme")["lifecycle"]["stage"] == "churned"


def test_usage_after_cancellation_stays_churned_until_a_new_subscription(
    make: EventFactory,
) -> None:
    engine = OfflineScorer()
    engine.apply(make.subscription(0, "started", amount=50.0))
    engine.apply(make.subscription(40, "cancelled"))
    engine.apply(make.usage(45))
    assert engine.states["acme"].stage == "churned"
    engine.apply(make.subscription(50, "started", amount=50.0))
    state = engine.states["acme"]
    assert (state.stage, state.stage_since) == ("reactivated", at(50))


def test_reactivated_holds_for_its_window_then_the_normal_stages_resume() -> None:
    live = inputs(1.0)
    assert next_stage("churned", 0.0, 10 * DAY, live, LC, REP) == ("reactivated", 10 * DAY)
    inside = 10 * DAY + (LC.reactivated_days - 1) * DAY
    assert next_stage("reactivated", 10 * DAY, inside, live, LC, REP) == ("reactivated", 10 * DAY)
    after = 10 * DAY + (LC.reactivated_days + 1) * DAY
    assert next_stage("reactivated", 10 * DAY, after, live, LC, REP) == ("stable", after)


def test_silence_reads_as_churned_for_a_non_subscriber(make: EventFactory) -> None:
    engine = engine_with_daily_usage(make, 0, 40)
    quiet_for = LC.churned_quiet_days + 1
    snap = engine.snapshot("acme", now=at(40.75 + quiet_for))
    assert snap["lifecycle"]["stage"] == "churned"


def test_new_activity_after_a_stored_churn_is_reactivated(make: EventFactory) -> None:
    engine = engine_with_daily_usage(make, 0, 40)
    # A non-activity event during the silence stores the churn ...
    engine.apply(make.support(40 + LC.churned_quiet_days + 5, "ticket_opened"))
    assert engine.states["acme"].stage == "churned"
    # ... so the customer's return is recognised.
    engine.apply(make.usage(40 + LC.churned_quiet_days + 10))
    assert engine.states["acme"].stage == "reactivated"


def test_usage_after_a_long_silence_is_reactivated(make: EventFactory) -> None:
    engine = engine_with_daily_usage(make, 0, 40)
    engine.apply(make.usage(40 + LC.churned_quiet_days + 30))
    assert engine.states["acme"].stage == "reactivated"
    assert engine.snapshot("acme")["lifecycle"]["stage"] == "reactivated"


def test_steady_usage_after_onboarding_is_stable_not_growth(make: EventFactory) -> None:
    engine = engine_with_daily_usage(make, 0, 45)
    assert engine.states["acme"].stage == "stable"


def test_stage_at_reads_one_step_from_the_stored_stage(make: EventFactory) -> None:
    engine = engine_with_daily_usage(make, 0, 40)
    state = engine.states["acme"]
    stored = (state.stage, state.stage_since)
    # A read never writes: the stored stage is unchanged by reading far in the future.
    stage, _ = stage_at(state, at(300), DEFAULT_CONFIG, temperature=80.0, p_alive=None)
    assert stage == "churned"
    assert (state.stage, state.stage_since) == stored


def test_regular_quarterly_buyer_is_not_churned_mid_cycle(make: EventFactory) -> None:
    engine = OfflineScorer()
    for k in range(9):
        engine.apply(make.purchase(90 * k, amount=100.0))
    snap = engine.snapshot("acme", now=at(720 + 70))
    assert snap["repurchase"]["status"] == "ok"
    # P(buys within 90 days) under MBG/NBD's Poisson purchases: a regular rhythm is not modelled,
    # so the quarterly buyer is about even odds, never cold.
    assert snap["temperature"]["band"] != "cold"
    assert snap["lifecycle"]["stage"] != "churned"
