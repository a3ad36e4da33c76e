"""Health (0–100): how much and how broadly the customer uses the product.

Components, each in [0, 1]:
- level: the long-half-life usage rate against the population median, ``rate/(rate + median/2)``
  (the median customer scores 2/3, twice the median 4/5): population-normalised because products
  differ in their natural event rate and "a lot" only means something against peers;
- breadth: decayed distinct features against the population median, same mapping;
- seats: share of seats with an active user (only when the profile states seats);
- trend: short rate ÷ long rate, capped at 1 — measured against the customer's OWN baseline, since
  a falling trend matters whatever the level.
Weights come from config and are renormalised over the components that apply. A customer who has
never sent a usage event has no health (None): buying is temperature, not usage — except a paying
customer past onboarding in a tenant that sends usage: paying but not using is the adoption risk
this product exists to catch, so their health is 0 (``UsageMeasures.never_used``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import SCORE_DECIMALS, Bands, HealthConfig, band_of
from .norms import Norms
from .reasons import Reason, ScoreWithReasons, days_phrase
from .usage import UsageMeasures


@dataclass(slots=True)
class Health(ScoreWithReasons):
    """Health (0–100): how much and how broadly the customer uses the product."""


def _saturating(value: float, median: float) -> float:
    half = max(median, 1e-9) / 2.0
    return value / (value + half) if value > 0 else 0.0


def _parts(
    usage: UsageMeasures, norms: Norms, config: HealthConfig
) -> dict[str, tuple[float, float]]:
    """component -> (score in [0, 1], weight)."""
    parts: dict[str, tuple[float, float]] = {
        "level": (_saturating(usage.long_rate, norms.usage_rate_median), config.weight_level),
        "breadth": (_saturating(usage.breadth, norms.breadth_median), config.weight_breadth),
        "trend": (min(1.0, usage.trend) if usage.trend is not None else 0.0, config.weight_trend),
    }
    if usage.seats:
        parts["seats_active"] = (min(1.0, usage.active_users / usage.seats), config.weight_seats)
    return parts


def value(usage: UsageMeasures, norms: Norms, config: HealthConfig) -> float | None:
    """Health alone, without components or reasons (the timers' bisection calls this often)."""
    if usage.quiet_days is None:
        return None
    parts = _parts(usage, norms, config)
    total_weight = sum(weight for _, weight in parts.values())
    return 100.0 * sum(score * weight for score, weight in parts.values()) / total_weight


def evaluate(
    usage: UsageMeasures, norms: Norms, config: HealthConfig, bands: Bands
) -> Health | None:
    if usage.quiet_days is None:
        return None
    parts = _parts(usage, norms, config)
    total_weight = sum(weight for _, weight in parts.values())
    value = 100.0 * sum(score * weight for score, weight in parts.values()) / total_weight
    # Impact of a component: the points it costs against its best value (1.0).
    impact = {
        name: -100.0 * weight * (1.0 - score) / total_weight
        for name, (score, weight) in parts.items()
    }
    return Health(
        value=value,
        band=band_of(round(value, SCORE_DECIMALS), bands.health),
        components={name: round(score, 4) for name, (score, _) in parts.items()},
        reasons=_reasons(usage, norms, impact),
    )


def _reasons(usage: UsageMeasures, norms: Norms, impact: dict[str, float]) -> list[Reason]:
    reasons: list[Reason] = []
    quiet = usage.quiet_days or 0.0
    if usage.never_used:
        text = f"paying for {days_phrase(quiet)} without any product usage"
        return [Reason("never_used", "health", text, sum(impact.values()))]
    if usage.trend_from_rhythm and usage.trend is not None and usage.trend < 0.9:
        text = (
            f"no product activity for {days_phrase(quiet)}, against a usual gap of "
            f"{days_phrase(usage.rhythm_gap_days or 0.0)}"
        )
        reasons.append(Reason("usage_drop", "health", text, impact["trend"]))
    elif usage.trend is not None and usage.trend < 0.9:
        drop = round(100 * (1 - usage.trend))
        text = f"usage down {drop}% vs its 28-day rate"
        if quiet >= 3:
            text = (
                f"no product activity for {days_phrase(quiet)}; "
                f"usage down {drop}% vs its 28-day rate"
            )
        reasons.append(Reason("usage_drop", "health", text, impact["trend"]))
    if usage.trend is None and quiet >= 1.0:
        reasons.append(
            Reason(
                "usage_stopped",
                "health",
                f"no product activity for {days_phrase(quiet)}",
                impact["trend"],
            )
        )
    elif usage.trend is None:
        reasons.append(
            Reason("usage_new", "health", "too little usage yet to show a trend", impact["trend"])
        )
    reasons.append(
        Reason(
            "usage_level",
            "health",
            f"{usage.long_rate:.1f} actions/day vs a peer median of {norms.usage_rate_median:.1f}",
            impact["level"],
        )
    )
    reasons.append(
        Reason(
            "breadth",
            "health",
            f"uses about {usage.breadth:.0f} features (peer median {norms.breadth_median:.0f})",
            impact["breadth"],
        )
    )
    if "seats_active" in impact and usage.seats:
        reasons.append(
            Reason(
                "seats_active",
                "health",
                f"{usage.active_users} of {usage.seats} seats active in the last 30 days",
                impact["seats_active"],
            )
        )
    return reasons
