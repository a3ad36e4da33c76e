"""Scoring configuration as code: every weight, half-life, threshold and band in one place.

Bump ``CONFIG_VERSION`` whenever a default changes: each score snapshot records the version it was
computed with, so a moved number can be traced to a config change rather than to the customer.
Units: times in days unless a name says otherwise; scores 0–100; probabilities 0–1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

CONFIG_VERSION = "2026.12.1"

SplitRule = Literal["score_gte_3", "above_population_mean"]
# How a buyer's temperature, P(at least one purchase within the horizon), is computed: the exact
# closed form under MBG/NBD or BG/NBD, or "mbgnbd_poisson": 1 − e^(−E[purchases in the horizon])
# under MBG/NBD (a Poisson count with the model's conditional mean). The default was chosen by
# benchmarks/purchase_backtest.py on the CDNOW log: see docs/scoring.md.
PurchaseModel = Literal["mbgnbd_poisson", "mbgnbd", "bgnbd"]
# Whether the tenant sends product usage: "auto" = yes once any customer of the population sent a
# usage event (read from the norms at the last refit), "yes"/"no" to say so outright.
UsageTracked = Literal["auto", "yes", "no"]


# Lateness per event type, days: billing, CRM and survey exports commonly arrive days (a monthly
# export: weeks) after the fact and must still count; product usage streams in near real time.
DEFAULT_LATENESS_DAYS_BY_TYPE: Mapping[str, float] = MappingProxyType(
    {
        "usage": 1.0,
        "purchase": 35.0,
        "subscription": 35.0,
        "support": 7.0,
        "feedback": 35.0,
        "profile": 35.0,
    }
)


@dataclass(frozen=True, slots=True)
class StreamConfig:
    # Events up to this far behind the customer's own latest event are folded in exactly; older ones
    # are counted as late and dead-lettered for inspection. Per event type (see above); a type not
    # listed uses ``allowed_lateness_days``.
    allowed_lateness_days: float = 1.0
    lateness_days_by_type: Mapping[str, float] = field(
        default_factory=lambda: DEFAULT_LATENESS_DAYS_BY_TYPE
    )
    # De-duplication holds for each event's own lateness window (an id is remembered as long as
    # its event could still be applied). This cap only guards memory against a runaway producer:
    # 50,000 ids is a customer sending ~35 events a minute all day; past it the oldest ids are
    # forgotten and events at or before them count as late.
    dedup_max_ids: int = 50_000
    # Distinct features remembered per customer (oldest forgotten first): bounds state size.
    max_features: int = 64
    # Users are counted exactly up to this many; beyond it a hash-sampled subset (1/2, 1/4, ...)
    # is kept and scaled up, so a 10,000-seat account costs the same state as a 500-seat one.
    max_users: int = 512
    # The scorer refuses events stamped further ahead of the wall clock than this (a device with a
    # wrong clock, year 2099): one such event would otherwise make every real event "late".
    max_future_skew_s: float = 3600.0

    def lateness_s(self, event_type: str) -> float:
        """How far behind the customer's latest event an event of this type may still apply."""
        days = self.lateness_days_by_type.get(event_type, self.allowed_lateness_days)
        return days * 86_400.0

    @property
    def max_lateness_s(self) -> float:
        return max([self.allowed_lateness_days, *self.lateness_days_by_type.values()]) * 86_400.0


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
    # Paying but not using: once the tenant sends usage, a paying customer past onboarding with no
    # usage event at all has health 0 (adoption risk), not "no health".
    usage_tracked: UsageTracked = "auto"
    # A customer whose usual gap between active days is at least this long is a light, rhythmic
    # user: its 7-day vs 28-day ratio swings with each visit, so its trend is read against its own
    # rhythm instead (steady while quiet for less than ``rhythm_tolerance`` usual gaps).
    sparse_gap_days: float = 3.5
    rhythm_tolerance: float = 1.5


# Calibrated defaults (config 2026.11.2). The log-odds of TemperatureConfig and the weights of
# RiskConfig below were FITTED ON SYNTHETIC DATA by `vitals backtest --calibrate`'s code
# (vitals.tools.backtest.calibration; benchmarks/calibration_report.py): `vitals simulate` seed 7,
# 2,000 mixed customers, 365 days from 2026-01-01, features at 2026-07-05, outcomes (cancellations,
# repeat purchases) in the following 90 days; L2 toward the hand-set 2026.11.1 values (given in
# each comment). Checked on a holdout stream (seed 42) judged on outcomes after its as_of: risk
# AUC 0.680 -> 0.708, Brier 0.134 -> 0.116, ECE 0.119 -> 0.041; temperature Brier 0.131 -> 0.125
# (retained) and 0.199 -> 0.166 (buys again), AUC unchanged. Real customers are not the
# simulator: re-run `vitals backtest --calibrate` on your own stream before trusting these.


@dataclass(frozen=True, slots=True)
class TemperatureConfig:
    horizon_days: float = 90.0
    # Billing period assumed for renewals when neither the subscription events (properties.interval)
    # nor ``plan_period_days`` say otherwise.
    period_days: float = 365.25 / 12.0
    # Billing period per plan name, days (e.g. {"enterprise": 365.0}).
    plan_period_days: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # Buyers: temperature = P(at least one purchase within the horizon) under this model. Chosen by
    # a backtest on a real retail log (benchmarks/purchase_backtest.py, CDNOW, 23,570 customers,
    # 90-day target): AUC mbgnbd_poisson 0.7705, mbgnbd 0.7676, bgnbd 0.7643, days since the last
    # purchase 0.7632; Brier 0.1168 vs 0.1176 for the exact MBG/NBD form, whose mean (0.145)
    # falls short of the observed rate (0.177) where the Poisson form's (0.172) does not.
    purchase_model: PurchaseModel = "mbgnbd_poisson"
    # Customers who never paid: a trial converts to paid with this probability, a free plan with
    # this one (published SaaS medians: ~25 % of opt-out trials, a few % of freemium users).
    trial_conversion_prior: float = 0.25
    free_conversion_prior: float = 0.05
    # A renewal this many days past its due date with no renewal event starts to cost temperature,
    # this many log-odds per further day, at most ``renewal_overdue_max_log_odds``.
    renewal_grace_days: float = 3.0
    renewal_overdue_log_odds_per_day: float = -0.25
    renewal_overdue_max_log_odds: float = -8.0
    # Log-odds added to the base model's probability, per family (subscriptions: sBG or the plan
    # prior; purchase-only: the purchase model). 0 would trust the models' own level. Fitted
    # (±SE): the sBG prior (3 %/month churn) stays in force because the simulated hazard does not
    # fall with tenure, so α, β are unidentified and the refit is kept at the prior (see
    # population.sources): -0.54 ± 0.11 corrects its too-warm level; MBG/NBD P(alive) is not
    # P(buys within the horizon): -0.65 ± 0.10. Once a real sBG refit is identified the
    # subscription shift should be re-learnt (toward 0) with `--calibrate`.
    subscription_log_odds_shift: float = -0.54
    # 0 since 2026.12.1: purchase temperature is now the model's own P(buys within the horizon)
    # (the -0.65 fitted before corrected P(alive), a different quantity). Re-learn with --calibrate.
    purchase_log_odds_shift: float = 0.0
    # Log-odds adjustments to P(still paying) from billing, contract and voice-of-customer signals
    # (fitted ± SE; 2026.11.1 value in brackets).
    payment_failure_log_odds: float = -0.99  # ± 0.32 [-1.2]
    payment_failure_half_life_days: float = 21.0
    # Held: only 7 training customers had a standing request at the cut (< 10 needed to fit).
    cancellation_requested_log_odds: float = -3.0  # [-3.0]
    downgrade_log_odds: float = -0.25  # ± 0.50 [-0.6]
    downgrade_half_life_days: float = 60.0
    escalation_log_odds: float = -0.23  # ± 0.28 [-0.35]
    support_half_life_days: float = 30.0
    # NPS fitted at 0 (the sign bound; ± 0.31 / 0.26 [-0.6 / +0.3]): in the simulator survey
    # answers add nothing the billing signals do not already say. Keep an eye on real data.
    detractor_log_odds: float = 0.0
    promoter_log_odds: float = 0.0
    low_csat_log_odds: float = -0.39  # ± 0.53 [-0.4]
    # Feedback older than this no longer moves temperature.
    feedback_relevance_days: float = 120.0
    # A renewal due within this many days makes the adjustments count fully (contract at stake).
    renewal_window_days: float = 45.0
    renewal_window_multiplier: float = 1.3


@dataclass(frozen=True, slots=True)
class RiskConfig:
    # logit(risk) = intercept + w_billing·logit(1 − P(paying)) + w_usage·(0.5 − health/100)·2
    #             + w_trend·(1 − min(1, trend)) + w_quiet·quiet_share
    # Fitted (± SE) on subscribers' cancellations, 2026.11.1 values in brackets: the falling trend
    # is the strongest usage signal; the old hand-set level put 93 % of accounts under 10 % risk
    # while 16 % churned (mean predicted 0.04 vs 0.16 observed). They put a cold, unused account
    # (temperature 29, health 20, two weeks quiet, trend 0.5) near 95 % and a hot, busy one
    # (temperature 90, health 85) near 7 %.
    intercept: float = -0.16  # ± 0.45 [-0.6]
    weight_billing: float = 0.94  # ± 0.23 [0.9]
    weight_usage: float = 0.53  # ± 0.44 [2.0]
    weight_trend: float = 2.81  # ± 0.64 [1.0]
    weight_quiet: float = 0.91  # ± 0.89 [1.5]


@dataclass(frozen=True, slots=True)
class Bands:
    """Lower bounds, best band first; the last band takes the rest."""

    temperature: tuple[tuple[str, float], ...] = (
        ("hot", 70.0),
        ("warm", 50.0),
        ("cool", 30.0),
        ("cold", 0.0),
    )
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
class MoneyConfig:
    # Every amount is converted on arrival into this currency; RFM, Gamma-Gamma, CLV and MRR are
    # all in it, so money is never summed across currencies. An event without a currency is in it.
    reporting_currency: str = "USD"
    # Units of the reporting currency per unit of each other currency. An amount in a currency
    # without a rate still counts as a transaction but adds no money (``stats.unconverted``).
    fx_rates: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def to_reporting(self, amount: float, currency: str | None) -> float | None:
        """``amount`` in the reporting currency; None when there is no rate for ``currency``."""
        if not currency or currency == self.reporting_currency:
            return amount
        rate = self.fx_rates.get(currency)
        return None if rate is None else amount * rate


@dataclass(frozen=True, slots=True)
class ClvConfig:
    # One horizon for subscriptions and purchases alike, so the two CLVs compare.
    horizon_days: float = 365.0
    discount_rate_annual: float = 0.10


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
    money: MoneyConfig = field(default_factory=MoneyConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)


DEFAULT_CONFIG = ScoringConfig()


# Scores are published with 2 decimals; bands are taken from the published value, so a reader
# of the snapshot (the alert rules, a CSM) never sees a value and a band that disagree.
SCORE_DECIMALS = 2


def band_of(value: float, bands: tuple[tuple[str, float], ...]) -> str:
    """The first band whose lower bound ``value`` reaches."""
    for name, lower in bands:
        if value >= lower:
            return name
    return bands[-1][0]
