"""The score snapshot: every number of a customer at a moment, with components and reasons.

``evaluate(state, now, params, config)`` is a pure function: the live scorer, the timers and
``vitals backtest`` all call it, so the same state and clock give the same snapshot byte for byte.
The shape is published in schemas/score-snapshot.schema.json.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime

from . import billing, lifecycle, repurchase, rfm
from . import clv as clv_model
from . import health as health_model
from . import risk as risk_model
from . import temperature as temperature_model
from .config import ScoringConfig
from .params import ScoringParams
from .published import Clv, Snapshot
from .reasons import top
from .state import CustomerState
from .usage import measure, usage_expected

SNAPSHOT_SCHEMA = "vitals.score/1"


# A snapshot writes five times; most repeat from the customer's previous snapshot (first and last
# event, last usage, stage since): formatting each distinct time once is a tenth of evaluate.
@functools.lru_cache(maxsize=65_536)
def iso(ts: float) -> str | None:
    """Unix seconds -> RFC 3339 UTC with a Z (None for unset times)."""
    if not ts:
        return None
    text = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _r(value: float, digits: int = 2) -> float:
    return round(value, digits)


def evaluate(
    state: CustomerState,
    now: float,
    params: ScoringParams,
    config: ScoringConfig,
    clock: str = "stream",
) -> Snapshot:
    expected = usage_expected(state, now, params.norms.usage_customers, config)
    usage = measure(state, now, config.health, expected)
    temperature = temperature_model.evaluate(
        state, now, params.models, config.temperature, config.bands
    )
    health = health_model.evaluate(usage, params.norms, config.health, config.bands)
    risk = risk_model.evaluate(temperature, health, usage, config.risk, config.bands)
    stage, since = lifecycle.stage_at(
        state, now, config, temperature.value, temperature.p_alive, usage
    )
    rfm_now = rfm.evaluate(state, now, params.norms, config.rfm)
    rep = repurchase.evaluate(state, now, config.repurchase)
    currency = config.money.reporting_currency
    reasons = top(temperature.reasons + (health.reasons if health else []))
    return {
        "schema": SNAPSHOT_SCHEMA,
        "customer_id": state.customer_id,
        "as_of": iso(now),
        "as_of_ts": now,
        "clock": clock,
        "config_version": config.version,
        "params_version": params.version,
        "profile": {
            "name": state.profile.get("name"),
            "owner": state.profile.get("owner"),
            "segment": state.profile.get("segment"),
            "plan": state.profile.get("plan"),
            "seats": state.profile.get("seats"),
            "renewal_date": state.profile.get("renewal_date"),
        },
        "mrr": _r(state.mrr) if state.sub_status == "active" and state.sub_paid_ts else 0.0,
        "currency": currency,
        "temperature": {
            "value": _r(temperature.value),
            "band": temperature.band,
            "model": temperature.model,
            "components": temperature.components,
        },
        "health": None
        if health is None
        else {"value": _r(health.value), "band": health.band, "components": health.components},
        "risk": {"value": _r(risk.value), "band": risk.band, "components": risk.components},
        "quadrant": risk_model.quadrant(
            temperature.value, _r(health.value) if health else None, config.bands
        ),
        "rfm": rfm_now.as_dict() if rfm_now else None,
        "repurchase": rep.as_dict(),
        "clv": _clv(state, now, params, config, currency, temperature),
        "lifecycle": {"stage": stage, "since": iso(since)},
        "reasons": [r.as_dict() for r in reasons],
        "risk_reasons": [r.as_dict() for r in top(risk.reasons, limit=4)],
        "stats": {
            "events": state.events,
            "usage_events": state.usage_events,
            "purchases": state.purchases,
            "purchase_events": state.purchase_events,
            "refunds": state.refunds,
            "unconverted": state.unconverted,
            "duplicates": state.duplicates,
            "late_events": state.late_events,
            "first_event_at": iso(state.first_ts),
            "last_event_at": iso(state.last_ts),
            "last_usage_at": iso(state.last_usage_ts),
        },
    }


def _clv(
    state: CustomerState,
    now: float,
    params: ScoringParams,
    config: ScoringConfig,
    currency: str,
    temperature: temperature_model.Temperature,
) -> Clv | None:
    """CLV over ``ClvConfig.horizon_days`` for subscribers and buyers alike, scaled by what the
    customer's own signals did to temperature (a cancellation request lowers both)."""
    models = params.models
    horizon = config.clv.horizon_days
    p_model = temperature.components.get("p_base", 0.0)
    factor = (temperature.raw / 100.0) / p_model if p_model > 0 else 1.0
    if state.sub_status == "active" and state.mrr > 0:
        alpha, beta = temperature_model.sbg_params_for(state, models, config.temperature)
        renewals = float(state.renewals_survived) if state.sub_paid_ts else 0.0
        estimate = clv_model.clv_subscription(
            state.mrr,
            renewals,
            alpha,
            beta,
            billing.period_days(state, config.temperature),
            config.clv.discount_rate_annual,
            horizon_days=horizon,
        )
        if not state.sub_paid_ts:
            # Never paid: the value of converting, at the trial's (or free plan's) odds.
            factor = temperature.raw / 100.0
        method = "sbg_truncated_derl"
    elif state.sub_status == "active" and not state.purchases:
        return {
            "value": 0.0,
            "currency": currency,
            "method": "free_plan",
            "horizon_days": horizon,
            "components": {},
        }
    elif state.purchases > 0:
        x, t_x, T = temperature_model.purchase_stats(state, now)
        monetary = max(0.0, state.spend_total - state.first_purchase_amount) / x if x > 0 else 0.0
        use_bg = config.temperature.purchase_model == "bgnbd"
        estimate = clv_model.clv_purchases(
            x,
            t_x,
            T,
            x,
            monetary,
            models.bgnbd if use_bg else models.mbgnbd,
            models.gammagamma,
            model="bgnbd" if use_bg else "mbgnbd",
            horizon_days=horizon,
            annual_discount=config.clv.discount_rate_annual,
        )
        method = "gammagamma_x_" + ("bgnbd" if use_bg else "mbgnbd")
    else:
        return None
    value = estimate.value * factor
    components = {k: round(v, 4) for k, v in estimate.components.items()}
    components["temperature_factor"] = round(factor, 4)
    if not (math.isfinite(value) and all(math.isfinite(v) for v in components.values())):
        # Special functions (2F1) can fail at extreme parameters: say so, never publish 0.
        return {
            "value": None,
            "currency": currency,
            "method": method,
            "horizon_days": horizon,
            "components": {k: v for k, v in components.items() if math.isfinite(v)},
            "reason": "not computable: the model's special functions are unstable at these "
            "parameters",
        }
    return {
        "value": _r(value),
        "currency": currency,
        "method": method,
        "horizon_days": horizon,
        "components": components,
    }
