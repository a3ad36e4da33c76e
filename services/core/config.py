"""Scoring configuration as code: every weight, half-life, threshold and band in one place.

Bump ``CONFIG_VERSION`` whenever a default changes: each score snapshot records the version it was
computed with, so a moved number can be traced to a config change rather than to the customer.
Units: times in days unless a name says otherwise; scores 0–100; probabilities 0–1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping

CONFIG_VERSION = "2026.11.1"

SplitRule = Literal["score_gte_3", "above_population_mean"]
PurchaseModel = Literal["mbgnbd", "bgnbd", "expected_purchases"]


@dataclass(frozen=True, slots=True)
class StreamConfig:
    # Events up to this far behind the customer's own latest event are folded in exactly; older ones
    # are counted as late and dead-lettered for inspection (offline apps re-sync within hours).
    allowed_lateness_days: float = 1.0
    # Event ids remembered per customer for de-duplication. A resend inside the lateness window is
    # caught exactly; a very busy customer's window shrinks to its last N ids (older = late).
    dedup_max_ids: int = 256
    # Distinct features / users remembered per customer (oldest forgotten first): bounds state size.
    max_features: int = 64
    max_users: int = 200


@dataclass(frozen=True, slots=True)
class HealthConfig:
    # Two half-lives: the short one reacts within a week, the long one is the customer's baseline.
    short_half_life_days: float = 7.0
    long_half_life_days: float = 28.0
    breadth_half_life_days: float = 14.0
    # Users seen within this many days count as active seats.
    active_user_days: float = 30.0
    # Usage weight per event name (prefix match on "a.b" names falls back to 1.0).
    usage_weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    default_usage_weight: float = 1.0
    # Component weights (renormalised over the components that apply to a customer).
    weight_level: float = 0.40
    weight_breadth: float = 0.20
    weight_seats: float = 0.15
    weight_trend: float = 0.25


@dataclass(frozen=True, slots=True)
class TemperatureConfig:
    horizon_days: float = 90.0
    # Billing period assumed for renewals when the subscription events do not say otherwise.
    period_days: float = 30.0
    purchase_model: PurchaseModel = "mbgnbd"
    # Log-odds adjustments to P(still paying) from billing, contract and voice-of-customer signals.
    payment_failure_log_odds: float = -1.2
    payment_failure_half_life_days: float = 21.0
    cancellation_requested_log_odds: float = -3.0
    downgrade_log_odds: float = -0.6
    downgrade_half_life_days: float = 60.0
    escalation_log_odds: float = -0.35
    support_half_life_days: float = 30.0
    detractor_log_odds: float = -0.6
    promoter_log_odds: float = 0.3
    low_csat_log_odds: float = -0.4
    # Feedback older than this no longer moves temperature.
    feedback_relevance_days: float = 120.0
    # A renewal due within this many days makes the adjustments count fully (contract at stake).
    renewal_window_days: float = 45.0
    renewal_window_multiplier: float = 1.3


@dataclass(frozen=True, slots=True)
class RiskConfig:
    # logit(risk) = intercept + w_billing·logit(1 − P(paying)) + w_usage·(0.5 − health/100)·2
    #             + w_trend·(1 − min(1, trend)) + w_quiet·quiet_share
    # Defaults put a cold, unused account near 90 % and a hot, busy one near 5 %.
    intercept: float = -0.6
    weight_billing: float = 0.9
    weight_usage: float = 2.0
    weight_trend: float = 1.0
    weight_quiet: float = 1.5


@dataclass(frozen=True, slots=True)
class Bands:
    """Lower bounds, best band first; the last band takes the rest."""

    temperature: tuple[tuple[str, float], ...] = (("hot", 70.0), ("warm", 50.0), ("cool", 30.0), ("cold", 0.0))
    health: tuple[tuple[str, float], ...] = (("good", 65.0), ("fair", 40.0), ("poor", 0.0))
    # Risk: higher is worse, so bands are lower bounds from the worst down.
    risk: tuple[tuple[str, float], ...] = (("high", 60.0), ("medium", 30.0), ("low", 0.0))
    quadrant_temperature: float = 50.0
    quadrant_health: float = 50.0


@dataclass(frozen=True, slots=True)
class RfmConfig:
    # "score_gte_3": a quintile score of 3–5 is high. "above_population_mean": above the mean score.
    split_rule: SplitRule = "score_gte_3"


@dataclass(frozen=True, slots=True)
class RepurchaseConfig:
    overdue_ratio: float = 1.5
    lapsed_ratio: float = 3.0


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    onboarding_days: float = 30.0
    growth_enter: float = 1.20
    growth_exit: float = 1.05
    decline_enter: float = 0.70
    decline_exit: float = 0.85
    decline_temperature: float = 35.0
    # Quiet this long with no subscription in force (or P(alive) below the floor): churned.
    churned_quiet_days: float = 60.0
    churned_p_alive: float = 0.15
    reactivated_days: float = 30.0


@dataclass(frozen=True, slots=True)
class ClvConfig:
    horizon_days: float = 365.0
    discount_rate_annual: float = 0.10
    default_currency: str = "USD"


@dataclass(frozen=True, slots=True)
class AlertConfig:
    # Gone quiet: no product activity for this long (a week off is normal; ten days is not).
    gone_quiet_days: float = 10.0
    # Health drop: this many points below the highest health seen within the window.
    health_drop_points: float = 20.0
    health_drop_window_days: float = 14.0
    # Hysteresis: a rule that fired clears only once the value is this many points back past its
    # threshold, so a score hovering at a band edge alerts once, not at every wobble.
    exit_margin_points: float = 5.0
    # Cooldown per (customer, rule): a rule that cleared and re-entered within this time opens a new
    # episode silently instead of paging the CSM again.
    cooldown_days: float = 7.0
    # Timers look at most this far ahead; a customer with no predicted crossing is re-checked then.
    max_timer_horizon_days: float = 7.0
    # Rules switched off by name.
    disabled: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    version: str = CONFIG_VERSION
    stream: StreamConfig = field(default_factory=StreamConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    temperature: TemperatureConfig = field(default_factory=TemperatureConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    bands: Bands = field(default_factory=Bands)
    rfm: RfmConfig = field(default_factory=RfmConfig)
    repurchase: RepurchaseConfig = field(default_factory=RepurchaseConfig)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    clv: ClvConfig = field(default_factory=ClvConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)


DEFAULT_CONFIG = ScoringConfig()


def band_of(value: float, bands: tuple[tuple[str, float], ...]) -> str:
    """The first band whose lower bound ``value`` reaches."""
    for name, lower in bands:
        if value >= lower:
            return name
    return bands[-1][0]
