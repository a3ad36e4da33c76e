"""Text pieces every chat format shares: labels, score changes, reasons, safe truncation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ELLIPSIS = "…"
SCORES: tuple[str, ...] = ("temperature", "health", "risk")

RULE_LABELS: dict[str, str] = {
    "band_drop_temperature": "temperature fell a band",
    "band_drop_health": "health fell a band",
    "band_drop_risk": "risk rose a band",
    "health_drop": "health dropped sharply",
    "adoption_risk": "paying but not using (adoption risk)",
    "at_risk": "moved into at risk",
    "repurchase_overdue": "repurchase overdue",
    "repurchase_lapsed": "repurchase lapsed",
    "gone_quiet": "gone quiet",
    "payment_failed": "payment failed",
    "cancellation_requested": "cancellation requested",
}
SEVERITY_EMOJI: dict[str, str] = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def customer_label(alert: Mapping[str, Any]) -> str:
    return str(alert.get("customer_name") or alert.get("customer_id") or "unknown customer")


def rule_label(alert: Mapping[str, Any]) -> str:
    rule = str(alert.get("rule", ""))
    return RULE_LABELS.get(rule, rule.replace("_", " ") or "alert")


def severity(alert: Mapping[str, Any]) -> str:
    value = str(alert.get("severity", "info"))
    return value if value in SEVERITY_EMOJI else "info"


def title(alert: Mapping[str, Any]) -> str:
    """The alert's own title, else "<customer>: <rule>"."""
    return str(alert.get("title") or f"{customer_label(alert)}: {rule_label(alert)}")


def _number(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return "–"


def score_changes(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    """[("Temperature", "72.4 → 70.1"), ...] for the scores present in before or after."""
    before = alert.get("before") or {}
    after = alert.get("after") or {}
    rows = []
    for name in SCORES:
        if name in before or name in after:
            rows.append(
                (name.capitalize(), f"{_number(before.get(name))} → {_number(after.get(name))}")
            )
    return rows


def reason_texts(alert: Mapping[str, Any]) -> list[str]:
    texts = []
    for reason in alert.get("reasons") or []:
        if isinstance(reason, Mapping):
            texts.append(str(reason.get("text") or reason.get("code") or ""))
        else:
            texts.append(str(reason))
    return [t for t in texts if t]


def one_line(alert: Mapping[str, Any]) -> str:
    """A plain one-line summary, used as notification text and in digests."""
    changes = ", ".join(f"{n.lower()} {c}" for n, c in score_changes(alert))
    text = f"{customer_label(alert)}: {rule_label(alert)} ({severity(alert)})"
    return f"{text}; {changes}" if changes else text


def fallback_text(alert: Mapping[str, Any]) -> str:
    return f"{SEVERITY_EMOJI[severity(alert)]} {title(alert)}"


def digest_title(alerts: Sequence[Mapping[str, Any]]) -> str:
    worst = max((severity(a) for a in alerts), key=("info", "warning", "critical").index)
    return f"{SEVERITY_EMOJI[worst]} {len(alerts)} customer alerts"
