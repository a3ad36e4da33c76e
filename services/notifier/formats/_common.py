"""Text pieces every chat format shares: labels, score changes, reasons, safe truncation.

Two kinds of alert reach the chat formats (schemas/alert.schema.json): customer alerts, and
experiment decisions (rule ``experiment_decided``, no customer, an ``experiment`` object). The
helpers named ``subject_*`` and ``experiment_*`` let each platform render both with one layout.
"""

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
    "experiment_decided": "experiment decided",
}
EXPERIMENT_RULE = "experiment_decided"
# Goals measured as a share of units: effects read in percentage points.
SHARE_GOALS = frozenset({"converted", "retained", "churned"})
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


def experiment(alert: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``experiment`` object of an experiment-decision alert; None for customer alerts."""
    value = alert.get("experiment")
    if alert.get("rule") == EXPERIMENT_RULE and isinstance(value, Mapping):
        return value
    return None


def subject_label(alert: Mapping[str, Any]) -> str:
    """What the alert is about: the customer, or "experiment <name>"."""
    exp = experiment(alert)
    return f"experiment {exp.get('name') or '?'}" if exp is not None else customer_label(alert)


def link_label(alert: Mapping[str, Any]) -> str:
    return "Open experiment" if experiment(alert) is not None else "Open customer"


def _signed(value: Any, goal: str) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "unbounded"
    if goal in SHARE_GOALS:
        return f"{100 * value:+.1f} points"
    return f"{value:+,.2f}"


def experiment_effect(exp: Mapping[str, Any]) -> str:
    """ "+6.1 points (+52 %)" for a share goal, "+12.50 per unit" for revenue."""
    goal = str(exp.get("goal", ""))
    text = _signed(exp.get("effect"), goal)
    if goal not in SHARE_GOALS and text != "unbounded":
        text += " per unit"
    relative = exp.get("relative")
    if isinstance(relative, int | float) and not isinstance(relative, bool):
        text += f" ({100 * relative:+.0f} %)"
    return text


def experiment_interval(exp: Mapping[str, Any]) -> str:
    """The always-valid interval at its level, e.g. "+0.4 points to +11.8 points (95 %)"."""
    goal = str(exp.get("goal", ""))
    bounds = exp.get("always_valid_interval") or [None, None]
    lower, upper = [*bounds, None, None][:2]
    alpha = exp.get("alpha")
    level = f" ({100 * (1 - alpha):.0f} %)" if isinstance(alpha, int | float) else ""
    return f"{_signed(lower, goal)} to {_signed(upper, goal)}{level}"


def experiment_facts(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    """[(label, value)] describing an experiment decision, in reading order."""
    exp = experiment(alert) or {}
    arm, control = str(exp.get("arm", "?")), str(exp.get("control", "?"))
    rows = [
        ("Experiment", str(exp.get("name", "?"))),
        ("Decision", f"{exp.get('decision', '?')} ({arm} vs {control})"),
        ("Effect", experiment_effect(exp)),
        ("Always-valid interval", experiment_interval(exp)),
    ]
    goal = str(exp.get("goal", "?"))
    horizon = exp.get("horizon_days")
    if isinstance(horizon, int | float):
        goal += f" within {horizon:g} days"
    rows.append(("Goal", goal))
    units = exp.get("units")
    if isinstance(units, Mapping) and units:
        rows.append(("Units", " · ".join(f"{k} {v}" for k, v in units.items())))
    rows.append(("Decided on", str(exp.get("decided_on", "?"))))
    return rows


def experiment_notes(alert: Mapping[str, Any]) -> list[str]:
    """Lines in place of a customer alert's reasons: what was tested, and why it is final."""
    exp = experiment(alert) or {}
    notes = []
    if exp.get("description"):
        notes.append(str(exp["description"]))
    notes.append(
        "always-valid sequential test: the decision holds although the test was looked at every day"
    )
    return notes


def what_happened(alert: Mapping[str, Any]) -> str:
    """The rule's label; for an experiment, its decision and effect."""
    exp = experiment(alert)
    if exp is None:
        return rule_label(alert)
    return (
        f"{exp.get('decision', '?')} ({exp.get('arm', '?')} vs {exp.get('control', '?')}, "
        f"{experiment_effect(exp)})"
    )


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
    if experiment(alert) is not None:
        return f"{subject_label(alert)}: {what_happened(alert)}"
    changes = ", ".join(f"{n.lower()} {c}" for n, c in score_changes(alert))
    text = f"{customer_label(alert)}: {rule_label(alert)} ({severity(alert)})"
    return f"{text}; {changes}" if changes else text


def fallback_text(alert: Mapping[str, Any]) -> str:
    return f"{SEVERITY_EMOJI[severity(alert)]} {title(alert)}"


def digest_title(alerts: Sequence[Mapping[str, Any]]) -> str:
    worst = max((severity(a) for a in alerts), key=("info", "warning", "critical").index)
    kind = "customer alerts" if all(experiment(a) is None for a in alerts) else "alerts"
    return f"{SEVERITY_EMOJI[worst]} {len(alerts)} {kind}"
