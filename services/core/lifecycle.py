"""Lifecycle stage with hysteresis: onboarding, growth, stable, decline, churned, reactivated.

The stage is a small state machine advanced at each event in the customer's own event time (so a
replay reproduces it) and read at any later moment with one more step. Separate enter and exit
thresholds keep customers from flapping between growth, stable and decline around one value.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import LifecycleConfig, RepurchaseConfig, ScoringConfig
from .decay import SECONDS_PER_DAY
from .repurchase import evaluate as repurchase_at
from .state import CustomerState
from .usage import UsageMeasures, tenure_days, trend_at

STAGES = ("onboarding", "growth", "stable", "decline", "churned", "reactivated")


@dataclass(slots=True)
class StageInputs:
    tenure_days: float
    trend: float | None
    quiet_days: float  # since the last sign of life: usage, purchase or a positive billing event
    subscription: str  # none | active | cancelled
    repurchase_ratio: float | None
    temperature: float | None = None  # only at read time: the stored stage never depends on params
    p_alive: float | None = None


def inputs_at(
    state: CustomerState, now: float, config: ScoringConfig, usage: UsageMeasures | None = None
) -> StageInputs:
    """The stage machine's inputs; pass ``usage`` when the measures at ``now`` are at hand."""
    trend = usage.trend if usage is not None else trend_at(state, now, config)
    last_alive = max(state.last_usage_ts, state.last_purchase_ts, state.sub_positive_ts)
    quiet = (
        (now - last_alive) / SECONDS_PER_DAY
        if last_alive
        else (now - state.first_ts) / SECONDS_PER_DAY
    )
    return StageInputs(
        tenure_days=tenure_days(state, now),
        trend=trend,
        quiet_days=max(0.0, quiet),
        subscription=state.sub_status,
        repurchase_ratio=repurchase_at(state, now, config.repurchase).ratio,
    )


def _is_churned(inputs: StageInputs, config: LifecycleConfig, repurchase: RepurchaseConfig) -> bool:
    if inputs.subscription == "cancelled":
        return True
    if inputs.subscription == "active":
        return False
    if inputs.p_alive is not None and inputs.p_alive < config.churned_p_alive:
        return True
    if inputs.repurchase_ratio is not None:
        # A repeat buyer has a rhythm of its own: churned once lapsed by it, not after fixed days.
        return inputs.repurchase_ratio >= repurchase.lapsed_ratio
    return inputs.quiet_days >= config.churned_quiet_days


def next_stage(
    stage: str,
    since: float,
    now: float,
    inputs: StageInputs,
    config: LifecycleConfig,
    repurchase: RepurchaseConfig,
) -> tuple[str, float]:
    """One step of the machine: the stage at ``now`` given the stage held since ``since``."""
    churned = _is_churned(inputs, config, repurchase)
    if churned:
        return ("churned", since) if stage == "churned" else ("churned", now)
    if stage == "churned":
        return "reactivated", now
    if stage == "reactivated" and (now - since) < config.reactivated_days * SECONDS_PER_DAY:
        return stage, since
    if inputs.tenure_days < config.onboarding_days:
        return ("onboarding", since) if stage == "onboarding" else ("onboarding", now)

    trend = inputs.trend
    declining_purchases = (
        trend is None
        and inputs.repurchase_ratio is not None
        and inputs.repurchase_ratio >= repurchase.overdue_ratio
    )
    cold = inputs.temperature is not None and inputs.temperature < config.decline_temperature
    if stage == "decline":
        still = declining_purchases or cold or (trend is not None and trend < config.decline_exit)
        if still:
            return stage, since
    elif declining_purchases or cold or (trend is not None and trend <= config.decline_enter):
        return "decline", now
    if stage == "growth" and trend is not None and trend > config.growth_exit:
        return stage, since
    if trend is not None and trend >= config.growth_enter:
        return ("growth", since) if stage == "growth" else ("growth", now)
    return ("stable", since) if stage == "stable" else ("stable", now)


def advance_at(state: CustomerState, config: ScoringConfig, now: float) -> None:
    """Advance the stored stage at ``now`` (an event time of the customer's)."""
    inputs = inputs_at(state, now, config)
    stage = state.stage or "onboarding"
    since = state.stage_since or state.first_ts
    state.stage, state.stage_since = next_stage(
        stage, since, now, inputs, config.lifecycle, config.repurchase
    )


def stage_at(
    state: CustomerState,
    now: float,
    config: ScoringConfig,
    temperature: float | None,
    p_alive: float | None,
    usage: UsageMeasures | None = None,
) -> tuple[str, float]:
    """The stage read at ``now``: one step from the stored stage, with read-time signals."""
    base = inputs_at(state, now, config, usage)
    inputs = StageInputs(
        tenure_days=base.tenure_days,
        trend=base.trend,
        quiet_days=base.quiet_days,
        subscription=base.subscription,
        repurchase_ratio=base.repurchase_ratio,
        temperature=temperature,
        p_alive=p_alive,
    )
    stage = state.stage or "onboarding"
    since = state.stage_since or state.first_ts
    return next_stage(stage, since, now, inputs, config.lifecycle, config.repurchase)
