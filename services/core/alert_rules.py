"""Alert rules with hygiene: hysteresis, per-rule cooldown and deterministic alert ids.

``evaluate_rules`` runs after every evaluation of a customer (on events and on timers). Its memory
lives in ``CustomerState.alerts`` so it moves with the customer's partition and survives restarts:

    rule name -> [active 0/1, episode, last raised at (Unix s), marker]
    "_bands"  -> [temperature band index, health band index, risk band index]  (0 = best)
    "_hdrop"  -> [reference health, reference time]   (highest health within the drop window)
    "_last"   -> [temperature, health, risk, time]    (the previous evaluation: "before" numbers)

An alert's id is a digest of (customer, rule, episode): the episode only advances when the rule
enters again, so reprocessing, a retry or a replay of the same history produces the same ids and the
notifier delivers each once.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from .config import ScoringConfig
from .decay import SECONDS_PER_DAY
from .published import Alert, Numbers, ReasonRecord, Snapshot
from .state import CustomerState

ALERT_SCHEMA = "vitals.alert/1"
RULES = (
    "band_drop_temperature",
    "band_drop_health",
    "band_drop_risk",
    "health_drop",
    "adoption_risk",
    "at_risk",
    "repurchase_overdue",
    "repurchase_lapsed",
    "gone_quiet",
    "payment_failed",
    "cancellation_requested",
)
SEVERITY = {
    "band_drop_temperature": "warning",
    "band_drop_health": "warning",
    "band_drop_risk": "warning",
    "health_drop": "warning",
    "adoption_risk": "warning",
    "at_risk": "critical",
    "repurchase_overdue": "info",
    "repurchase_lapsed": "warning",
    "gone_quiet": "warning",
    "payment_failed": "critical",
    "cancellation_requested": "critical",
}


def alert_id(customer_id: str, rule: str, episode: int) -> str:
    digest = hashlib.sha256(f"{customer_id}\x1f{rule}\x1f{episode}".encode()).hexdigest()
    return digest[:24]


def _band_index(value: float, bands: tuple[tuple[str, float], ...], higher_is_better: bool) -> int:
    for index, (_, lower) in enumerate(bands):
        if value >= lower:
            return index if higher_is_better else len(bands) - 1 - index
    return len(bands) - 1 if higher_is_better else 0


def _sticky_band(
    previous: int,
    value: float,
    bands: tuple[tuple[str, float], ...],
    higher_is_better: bool,
    margin: float,
) -> int:
    """The band with hysteresis: worse at once, better only ``margin`` points past the boundary."""
    raw = _band_index(value, bands, higher_is_better)
    if raw >= previous:
        return raw
    shifted = value - margin if higher_is_better else value + margin
    return max(raw, min(previous, _band_index(shifted, bands, higher_is_better)))


def _conditions(
    state: CustomerState, snapshot: Snapshot, now: float, config: ScoringConfig
) -> dict[str, tuple[bool, str]]:
    """rule -> (condition holds, why in words), with hysteresis from the rule's memory."""
    memo = state.alerts
    margin = config.alerts.exit_margin_points
    was = {rule: bool(memo.get(rule, [0])[0]) for rule in RULES}
    temperature = snapshot["temperature"]["value"]
    health = snapshot["health"]["value"] if snapshot["health"] else None
    risk = snapshot["risk"]["value"]
    bands = config.bands
    out: dict[str, tuple[bool, str]] = {}

    # Band drops: compare the sticky band with the one remembered (the first evaluation only
    # records where the customer starts). While onboarding the bands only follow the customer: a
    # new customer's scores still move from the population's prior towards its own data, and
    # "fell a band" then is the model learning, not the customer leaving. Drops count from the
    # band the customer settled in when onboarding ended.
    onboarding = now - state.first_ts < config.lifecycle.onboarding_days * SECONDS_PER_DAY
    # Health has no band (-1) until the customer first uses the product.
    old = memo.get("_bands")
    if old is None:
        old = [
            _band_index(temperature, bands.temperature, True),
            -1,
            _band_index(risk, bands.risk, False),
        ]
    if old[1] < 0 and health is not None:
        old = [old[0], _band_index(health, bands.health, True), old[2]]
    new_t = _sticky_band(int(old[0]), temperature, bands.temperature, True, margin)
    new_h = (
        _sticky_band(int(old[1]), health, bands.health, True, margin) if health is not None else -1
    )
    new_r = _sticky_band(int(old[2]), risk, bands.risk, False, margin)
    names_t = [n for n, _ in bands.temperature]
    names_h = [n for n, _ in bands.health]
    names_r = [n for n, _ in reversed(bands.risk)]
    out["band_drop_temperature"] = (
        new_t > old[0] and not onboarding,
        f"temperature fell from {names_t[int(old[0])]} to {names_t[new_t]}",
    )
    if new_h >= 0:
        out["band_drop_health"] = (
            new_h > old[1] and not onboarding,
            f"health fell from {names_h[int(old[1])]} to {names_h[new_h]}",
        )
    out["band_drop_risk"] = (
        new_r > old[2] and not onboarding,
        f"risk rose from {names_r[int(old[2])]} to {names_r[new_r]}",
    )
    memo["_bands"] = [new_t, new_h, new_r]

    # Health drop within a window: against the highest health seen inside the window.
    if health is not None:
        ref, ref_ts = memo.get("_hdrop", [health, now])
        window = config.alerts.health_drop_window_days * SECONDS_PER_DAY
        if health >= ref or now - ref_ts > window:
            ref, ref_ts = health, now
        memo["_hdrop"] = [ref, ref_ts]
        drop = ref - health
        need = config.alerts.health_drop_points - (margin if was["health_drop"] else 0.0)
        days = config.alerts.health_drop_window_days
        out["health_drop"] = (
            drop >= need,
            f"health dropped {drop:.0f} points within {days:.0f} days",
        )

    # Quadrants, with the thresholds moved by the margin once inside. Customers still onboarding
    # are expected to be light users: usage-based rules wait until onboarding is over.
    if health is not None and not onboarding:
        qt, qh = bands.quadrant_temperature, bands.quadrant_health
        adoption = (
            temperature >= qt - margin and health < qh + margin
            if was["adoption_risk"]
            else temperature >= qt and health < qh
        )
        at_risk = (
            temperature < qt + margin and health < qh + margin
            if was["at_risk"]
            else temperature < qt and health < qh
        )
        out["adoption_risk"] = (
            adoption,
            f"paying (temperature {temperature:.0f}) but not using (health {health:.0f})",
        )
        out["at_risk"] = (
            at_risk,
            f"cold (temperature {temperature:.0f}) and not using (health {health:.0f})",
        )

    repurchase = snapshot["repurchase"]
    status = repurchase["status"]
    if repurchase["ratio"] is not None:
        text = (
            f"{repurchase['days_since_last']:.0f} days since the last purchase; usually every "
            f"{repurchase['mean_interval_days']:.0f} days"
        )
        out["repurchase_overdue"] = (status in ("overdue", "lapsed"), text)
        out["repurchase_lapsed"] = (status == "lapsed", text)

    if state.usage_events:
        quiet = (now - state.last_usage_ts) / SECONDS_PER_DAY
        out["gone_quiet"] = (
            quiet >= config.alerts.gone_quiet_days,
            f"no product activity for {quiet:.0f} days",
        )
    return out


def _merge_band_drops(conditions: dict[str, tuple[bool, str]]) -> dict[str, tuple[bool, str]]:
    """Risk is made of temperature and health: when it rises a band in the same evaluation as one
    of them falls a band, that is one change, raised once as the risk alert with both reasons (the
    component's own drop is not raised; its band memory has moved all the same)."""
    risk_rose, risk_why = conditions.get("band_drop_risk", (False, ""))
    if not risk_rose:
        return conditions
    merged = dict(conditions)
    parts = [risk_why]
    for rule in ("band_drop_temperature", "band_drop_health"):
        holds, why = conditions.get(rule, (False, ""))
        if holds:
            parts.append(why)
            merged[rule] = (False, why)
    merged["band_drop_risk"] = (True, "; ".join(parts))
    return merged


def evaluate_rules(
    state: CustomerState,
    snapshot: Snapshot,
    now: float,
    config: ScoringConfig,
    public_url: str,
    predicted_at: float | None = None,
) -> list[Alert]:
    """Advance the rules' memory in ``state`` and return the alert records to raise now."""
    memo = state.alerts
    before = memo.get("_last")
    alerts: list[Alert] = []
    cooldown = config.alerts.cooldown_days * SECONDS_PER_DAY

    def fire(rule: str, why: str) -> None:
        _, previous, last_raised, marker = memo.get(rule) or [0, 0, 0.0, 0.0]
        episode = int(previous) + 1
        cooled = (
            not last_raised
            or now - last_raised >= cooldown
            or rule in ("payment_failed", "cancellation_requested")
        )
        memo[rule] = [1, episode, now if cooled else last_raised, marker]
        if cooled and rule not in config.alerts.disabled:
            alerts.append(
                _record(state, snapshot, rule, episode, why, before, now, public_url, predicted_at)
            )

    conditions = _merge_band_drops(_conditions(state, snapshot, now, config))
    for rule, (holds, why) in conditions.items():
        entry = memo.get(rule) or [0, 0, 0.0, 0.0]
        if rule.startswith("band_drop_"):
            if holds:
                fire(rule, why)
            continue
        if holds and not entry[0]:
            fire(rule, why)
        elif not holds and entry[0]:
            memo[rule] = [0, entry[1], entry[2], entry[3]]

    # Event-driven rules: fire once per new billing event (the marker is its event time).
    for rule, ts, text in (
        ("payment_failed", state.last_payment_failure_ts, "payment failed"),
        ("cancellation_requested", state.cancel_requested_ts, "cancellation requested"),
    ):
        entry = memo.get(rule) or [0, 0, 0.0, 0.0]
        if ts and ts > entry[3]:
            memo[rule] = [0, entry[1], entry[2], entry[3]]
            fire(rule, text)
            memo[rule][3] = ts
            memo[rule][0] = 0

    health = snapshot["health"]["value"] if snapshot["health"] else -1.0
    memo["_last"] = [snapshot["temperature"]["value"], health, snapshot["risk"]["value"], now]
    return alerts


def _numbers(values: list[float] | None) -> Numbers | None:
    if values is None:
        return None
    return {
        "temperature": values[0],
        "health": values[1] if values[1] >= 0 else None,
        "risk": values[2],
    }


_TITLES = {
    "band_drop_temperature": "{name}: temperature fell a band",
    "band_drop_health": "{name}: health fell a band",
    "band_drop_risk": "{name}: churn risk rose a band",
    "health_drop": "{name}: health dropped sharply",
    "adoption_risk": "{name} is paying but not using the product",
    "at_risk": "{name} is at risk",
    "repurchase_overdue": "{name} is overdue to buy again",
    "repurchase_lapsed": "{name} has lapsed",
    "gone_quiet": "{name} has gone quiet",
    "payment_failed": "{name}: payment failed",
    "cancellation_requested": "{name} requested cancellation",
}


def _record(
    state: CustomerState,
    snapshot: Snapshot,
    rule: str,
    episode: int,
    why: str,
    before: list[float] | None,
    now: float,
    public_url: str,
    predicted_at: float | None,
) -> Alert:
    profile = snapshot["profile"]
    name = profile.get("name") or state.customer_id
    reasons: list[ReasonRecord] = [
        {"code": rule, "score": "alert", "text": why, "impact": 0.0},
        *snapshot["reasons"][:3],
    ]
    after_health = snapshot["health"]["value"] if snapshot["health"] else -1.0
    return {
        "schema": ALERT_SCHEMA,
        "alert_id": alert_id(state.customer_id, rule, episode),
        "customer_id": state.customer_id,
        "customer_name": name,
        "owner": profile.get("owner"),
        "segment": profile.get("segment"),
        "rule": rule,
        "severity": SEVERITY[rule],
        "episode": episode,
        "title": _TITLES[rule].format(name=name),
        "raised_at": snapshot["as_of"],
        "raised_at_ts": now,
        "predicted_at_ts": predicted_at,
        "before": _numbers(before),
        "after": _numbers(
            [snapshot["temperature"]["value"], after_health, snapshot["risk"]["value"]]
        ),
        "reasons": reasons,
        "link": f"{public_url.rstrip('/')}/ui/customers/{quote(state.customer_id, safe='')}",
    }
