"""Everything a score evaluation needs besides the customer's state and the clock.

``ScoringParams`` bundles the customer-base model parameters and the population norms under one
version string, recorded in every snapshot. ``refit`` builds a new one from a snapshot of all
customers' statistics (the scorer does this periodically; backtests at the as-of time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .billing import period_days, period_label
from .config import ScoringConfig
from .decay import SECONDS_PER_DAY
from .norms import Norms, NormsRow, fit_norms
from .population import DEFAULT_PLAN, PRIORS, CustomerStatsRow, PopulationParams
from .population import refit as refit_models
from .state import CustomerState
from .usage import measure


@dataclass(frozen=True)
class ScoringParams:
    models: PopulationParams = PRIORS
    norms: Norms = field(default_factory=Norms)

    @property
    def version(self) -> str:
        return self.models.version

    def to_dict(self) -> dict[str, Any]:
        return {"models": self.models.to_dict(), "norms": self.norms.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoringParams:
        return cls(PopulationParams.from_dict(data["models"]), Norms.from_dict(data["norms"]))


DEFAULT_PARAMS = ScoringParams()


def stats_row(state: CustomerState, now: float, config: ScoringConfig) -> CustomerStatsRow:
    """The model-fitting statistics of one customer at ``now`` (days; money in the reporting
    currency). Subscribers who never paid (trials, free plans) do not enter the renewal model."""
    x = t_x = T = monetary = None
    frequency = None
    if state.purchases > 0:
        x = state.purchases - 1
        t_x = (state.last_purchase_ts - state.first_purchase_ts) / SECONDS_PER_DAY
        T = max(t_x, (now - state.first_purchase_ts) / SECONDS_PER_DAY)
        if x > 0:
            frequency = x
            monetary = max(0.0, state.spend_total - state.first_purchase_amount) / x
    renewals = active = None
    if state.sub_status != "none" and state.sub_paid_ts:
        renewals, active = state.renewals_survived, state.sub_status == "active"
    plan = state.profile.get("plan")
    return CustomerStatsRow(
        x=x,
        t_x=t_x,
        T=T,
        plan=plan if isinstance(plan, str) else DEFAULT_PLAN,
        period=period_label(period_days(state, config.temperature)),
        renewals=renewals,
        active=active,
        monetary=monetary,
        frequency=frequency,
    )


def norms_row(state: CustomerState, now: float, config: ScoringConfig) -> NormsRow:
    """One customer's inputs to the norms. Usage norms come from customers active now (used the
    product within the active-user window, subscription not cancelled): the quiet and the gone
    would drag the "peer" median down to nothing."""
    usage = measure(state, now, config.health)
    window = config.health.active_user_days * SECONDS_PER_DAY
    active = (
        state.usage_events > 0
        and now - state.last_usage_ts <= window
        and state.sub_status != "cancelled"
    )
    return NormsRow(
        usage_rate=usage.long_rate if active else None,
        breadth=usage.breadth if active else None,
        recency_days=(now - state.txn_last_ts) / SECONDS_PER_DAY if state.txn_count else None,
        frequency=state.txn_count,
        monetary=state.txn_spend / state.txn_count if state.txn_count else 0.0,
        used=state.usage_events > 0,
    )


def refit(
    states: Iterable[CustomerState],
    now: float,
    config: ScoringConfig,
    previous: ScoringParams = DEFAULT_PARAMS,
) -> ScoringParams:
    """Refit models and norms from all customers as of ``now``; components short of data keep
    ``previous``'s values (see ``PopulationParams.sources``)."""
    stats: list[CustomerStatsRow] = []
    rows: list[NormsRow] = []
    for state in states:
        stats.append(stats_row(state, now, config))
        rows.append(norms_row(state, now, config))
    models = refit_models(stats, fallback=previous.models, now=datetime.fromtimestamp(now, UTC))
    return ScoringParams(models=models, norms=fit_norms(rows, previous.norms))
