"""Band-drop alerts a CSM can act on: none while a new customer's scores still settle from the
population's prior (onboarding), drops counted from where the customer settled, and one alert, not
two, when risk rises because temperature or health fell in the same evaluation."""

from __future__ import annotations

from vitals.core.alert_rules import evaluate_rules
from vitals.core.config import DEFAULT_CONFIG
from vitals.core.events import Event
from vitals.core.published import Alert
from vitals.scorer.offline import OfflineScorer

from .conftest import EventFactory, at

CFG = DEFAULT_CONFIG
ONBOARDING = CFG.lifecycle.onboarding_days
NOON = 0.5


def alerts_on(events: list[Event], days: list[int]) -> dict[int, list[Alert]]:
    """Replay ``events`` and run the rules at noon of each of ``days`` (as the scorer's timers
    re-score a customer between its events): the alerts raised on each day."""
    engine = OfflineScorer(CFG)
    pending = sorted(events, key=lambda e: e.ts)
    out: dict[int, list[Alert]] = {}
    for day in days:
        now = at(day + NOON)
        while pending and pending[0].ts <= now:
            assert engine.apply(pending.pop(0)).status == "applied"
        customer_id = events[0].customer_id
        snapshot = engine.snapshot(customer_id, now=now)
        out[day] = evaluate_rules(engine.states[customer_id], snapshot, now, CFG, "http://x")
    return out


def band_alerts(raised: dict[int, list[Alert]]) -> list[Alert]:
    return [a for day in raised.values() for a in day if a["rule"].startswith("band_drop_")]


def one_time_buyer(make: EventFactory) -> list[Event]:
    return [make.purchase(0.1, amount=80.0)]


def regular_buyer_who_stops(make: EventFactory) -> list[Event]:
    """Buys every 10 days and uses the product daily for two months, then nothing."""
    purchases = [make.purchase(day + 0.1, amount=80.0) for day in range(0, 61, 10)]
    usage = [make.usage(day + 0.2, user_id="u1") for day in range(70)]
    return purchases + usage


def test_a_new_customers_scores_settling_raise_no_band_alert(make: EventFactory) -> None:
    events = one_time_buyer(make)
    raised = alerts_on(events, list(range(120)))
    assert band_alerts(raised) == []
    # Not because nothing moved: the one purchase's temperature and risk crossed bands while
    # the model learned (from the population's prior towards this customer), all in onboarding.
    engine = OfflineScorer(CFG)
    engine.apply(events[0])
    start, settled = (engine.snapshot("acme", now=at(day)) for day in (0, ONBOARDING))
    assert start["temperature"]["value"] >= 30.0 > settled["temperature"]["value"]  # cool → cold
    assert start["risk"]["value"] < 60.0 <= settled["risk"]["value"]  # medium → high


def test_a_settled_customer_going_cold_still_raises_band_alerts(make: EventFactory) -> None:
    raised = alerts_on(regular_buyer_who_stops(make), list(range(200)))
    alerts = band_alerts(raised)
    assert {a["rule"] for a in alerts} >= {"band_drop_risk", "band_drop_temperature"}
    assert all(a["raised_at_ts"] >= at(ONBOARDING) for a in alerts)


def test_risk_rising_as_health_falls_is_one_alert_with_both_reasons(make: EventFactory) -> None:
    # Two evaluations: settled and healthy at day 65, gone quiet for weeks at day 90; between
    # them health fell from fair to poor and risk rose from low to high.
    raised = alerts_on(regular_buyer_who_stops(make), [65, 90])
    rules = [a["rule"] for a in raised[90]]
    assert rules.count("band_drop_risk") == 1 and "band_drop_health" not in rules, rules
    (risk,) = (a for a in raised[90] if a["rule"] == "band_drop_risk")
    assert risk["reasons"][0]["text"] == "risk rose from low to high; health fell from fair to poor"
