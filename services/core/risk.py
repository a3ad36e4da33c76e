"""Risk (0–100): probability of churn within the horizon; the order of every at-risk list.

A logistic combination of the two numbers and their trends (LinkedIn's lesson: paying but not
using will churn):

    logit(risk) = intercept + w_billing·logit(1 − P(paying)) + w_usage·2·(0.5 − health/100)
                + w_trend·(1 − min(1, trend)) + w_quiet·(1 − 2^(−quiet days / 14))

Weights are documented defaults in config (RiskConfig); ``vitals backtest`` reports how they rank
against simple baselines, and they can be refitted from the cancellations the stream carries.
A customer who never used the product contributes no usage terms (buying is not usage).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import SCORE_DECIMALS, Bands, RiskConfig, band_of
from .health import Health
from .reasons import Reason, ScoreWithReasons
from .temperature import Temperature, logit, sigmoid
from .usage import UsageMeasures

# Silence half-saturates the quiet term after two weeks: a week's holiday is not yet a signal.
QUIET_HALF_DAYS = 14.0


@dataclass(slots=True)
class Risk(ScoreWithReasons):
    """Risk (0–100): probability of churn within the horizon."""


# Term -> the RiskConfig field weighting it. ``features`` are the terms at weight 1, so
# ``vitals.tools.backtest.calibration`` refits exactly the weights scoring multiplies them by.
TERM_WEIGHTS: dict[str, str] = {
    "from_temperature": "weight_billing",
    "from_health": "weight_usage",
    "from_trend": "weight_trend",
    "from_quiet": "weight_quiet",
}


def features(temperature: float, health: float | None, usage: UsageMeasures) -> dict[str, float]:
    """The risk model's inputs at weight 1 (the usage terms only for customers who used the
    product): logit(1 − P(paying)), 2·(0.5 − health/100), 1 − min(1, trend), 1 − 2^(−quiet/14)."""
    out = {"from_temperature": logit(1.0 - temperature / 100.0)}
    if health is not None:
        out["from_health"] = 2.0 * (0.5 - health / 100.0)
        trend = usage.trend if usage.trend is not None else 0.0
        out["from_trend"] = 1.0 - min(1.0, trend)
        quiet = usage.quiet_days or 0.0
        out["from_quiet"] = 1.0 - 2.0 ** (-quiet / QUIET_HALF_DAYS)
    return out


def terms(
    temperature: float, health: float | None, usage: UsageMeasures, config: RiskConfig
) -> dict[str, float]:
    """The additive log-odds terms of the risk model (the intercept under "intercept")."""
    out = {"intercept": config.intercept}
    for name, x in features(temperature, health, usage).items():
        out[name] = getattr(config, TERM_WEIGHTS[name]) * x
    return out


_TERM_TEXT = {
    "from_temperature": "billing and contract signals (temperature {temperature:.0f})",
    "from_health": "product usage (health {health:.0f})",
    "from_trend": "usage trend vs the customer's own baseline",
    "from_quiet": "time since the last product activity",
}
# A paying customer who never used the product has no baseline and no last activity: its usage
# terms say what they stand for (health's own reason is "never_used").
_NEVER_USED_TEXT = {
    **_TERM_TEXT,
    "from_trend": "never used the product: no usage to hold up",
    "from_quiet": "no product activity since they started ({quiet:.0f} days)",
}


def value(
    temperature: float, health: float | None, usage: UsageMeasures, config: RiskConfig
) -> float:
    """Risk alone (0–100), without components or reasons."""
    return 100.0 * sigmoid(sum(terms(temperature, health, usage, config).values()))


def evaluate(
    temperature: Temperature,
    health: Health | None,
    usage: UsageMeasures,
    config: RiskConfig,
    bands: Bands,
) -> Risk:
    parts = terms(temperature.value, health.value if health else None, usage, config)
    total = sum(parts.values())
    value = 100.0 * sigmoid(total)
    reasons = []
    for name, template in (_NEVER_USED_TEXT if usage.never_used else _TERM_TEXT).items():
        if name in parts:
            impact = value - 100.0 * sigmoid(total - parts[name])
            text = template.format(
                temperature=temperature.value,
                health=health.value if health else 0.0,
                quiet=usage.quiet_days or 0.0,
            )
            # Risk is "higher is worse": report impact with the sign of the move in risk points.
            reasons.append(Reason(name.removeprefix("from_"), "risk", text, impact))
    return Risk(
        value=value,
        band=band_of(round(value, SCORE_DECIMALS), bands.risk),
        components={name: round(v, 4) for name, v in parts.items()},
        reasons=reasons,
    )


def quadrant(temperature: float, health: float | None, bands: Bands) -> str | None:
    """champion · upsell (healthy, cold) · adoption_risk (paying, not using) · at_risk."""
    if health is None:
        return None
    warm = temperature >= bands.quadrant_temperature
    healthy = health >= bands.quadrant_health
    if warm and healthy:
        return "champion"
    if healthy:
        return "upsell"
    if warm:
        return "adoption_risk"
    return "at_risk"
