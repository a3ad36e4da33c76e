"""Growth settings: lead scoring, customer groups, AARRR and experiments, with their reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GoalMetric = Literal["converted", "retained", "churned", "revenue"]


@dataclass(frozen=True)
class ExperimentSpec:
    """An experiment registered up front: its goal metric is fixed before anyone looks."""

    goal: GoalMetric = "converted"
    control: str = "control"
    # Outcomes are read this long after assignment; only units assigned this long ago count.
    horizon_days: float = 30.0
    # Mixture standard deviation of the mSPRT (the effect size the test is tuned to detect,
    # in the goal's unit: 0.05 = 5 points of conversion). See vitals.growth.sequential.
    mixture_sd: float = 0.05
    description: str = ""

    def __post_init__(self) -> None:
        _require(self.horizon_days > 0, "horizon_days must be > 0")
        _require(self.mixture_sd > 0, "mixture_sd must be > 0")


@dataclass(frozen=True)
class GrowthConfig:
    # Lead score: decayed engagement. A 14-day half-life forgets a lead that went cold within a
    # month; 10 points is "two engaged sessions and a pricing-page visit within a week or so".
    score_half_life_days: float = 14.0
    mql_threshold: float = 10.0
    engaged_weight: float = 3.0
    usage_weight: float = 1.0
    tag_weights: dict[str, float] = field(
        default_factory=lambda: {"pricing-page": 4.0, "demo-request": 8.0, "webinar": 2.0}
    )
    # Engagement events kept per lead for the MQL crossing (the earliest ones: a crossing is
    # decided by the events before it). A lead with more unqualified engagement is an outlier.
    max_engagement_events: int = 256
    # "Fast" leads qualify within this many days of creation (issue 13).
    fast_lead_days: float = 30.0
    # Customer groups: unit price (mean order value) and frequency (orders) over a trailing
    # window. The thresholds are the population quantiles below, fitted by
    # groups.fit_thresholds; the defaults are those quantiles on the simulator's population.
    group_window_days: float = 365.0
    price_threshold: float = 100.0
    frequency_threshold: float = 4.0
    threshold_quantile: float = 0.5
    # Purchases kept per customer for groups and experiment revenue (the latest ones).
    max_purchases: int = 256
    # AARRR: the event (usage name) that counts as activation, and how long after activation
    # activity must still be seen for the customer to count as retained.
    activation_event: str = "report.exported"
    retention_days: float = 30.0
    experiments: dict[str, ExperimentSpec] = field(
        default_factory=lambda: {
            "nurture-drip": ExperimentSpec(
                goal="converted",
                horizon_days=30.0,
                description="Nurture e-mail drip for new leads vs none",
            )
        }
    )
    # Error rate of every experiment's always-valid test.
    alpha: float = 0.05

    def __post_init__(self) -> None:
        _require(self.score_half_life_days > 0, "score_half_life_days must be > 0")
        _require(self.mql_threshold > 0, "mql_threshold must be > 0")
        _require(self.group_window_days > 0, "group_window_days must be > 0")
        _require(self.price_threshold >= 0, "price_threshold must be >= 0")
        _require(self.frequency_threshold >= 1, "frequency_threshold must be >= 1 order")
        _require(0 < self.threshold_quantile < 1, "threshold_quantile must be in (0, 1)")
        _require(0 < self.alpha < 1, "alpha must be in (0, 1)")
        _require(self.retention_days > 0, "retention_days must be > 0")
        _require(self.max_purchases >= 1, "max_purchases must be >= 1")
        _require(self.max_engagement_events >= 1, "max_engagement_events must be >= 1")
        for name, spec in self.experiments.items():
            _require(spec.control != "", f"experiment {name}: control arm must be named")

    def experiment(self, name: str) -> ExperimentSpec:
        """The registered spec, or the default one (goal: converted) for an unknown experiment."""
        return self.experiments.get(name, ExperimentSpec())


def _require(holds: bool, message: str) -> None:
    if not holds:
        raise ValueError(message)


DEFAULT_GROWTH = GrowthConfig()
