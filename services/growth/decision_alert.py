"""Experiment decisions as alert records for the `alerts` topic (rule ``experiment_decided``).

An experiment arm that reaches a decision (vitals.growth.experiments: the always-valid test
crossed) is news for a growth team: it goes to the same chat destinations as the churn alerts,
through the same notifier (routing, rate limits, digests, delivery log). The record follows
schemas/alert.schema.json; it has no customer, and carries an ``experiment`` object instead.

``alert_id`` is a digest of (experiment, arm) alone: the decision of an arm is made once, so
every replay, every worker and every retry after a crash raises the same id, and the notifier's
delivery log delivers it once per destination.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from vitals.core.alert_rules import ALERT_SCHEMA

RULE = "experiment_decided"
# A decision is good news or a stopped loss, never an emergency: it should reach a channel
# that takes `info`, and never outrank a customer about to churn in a digest.
SEVERITY = "info"
# Where the dashboard shows experiment reports (the page's #experiments section).
PAGE = "/ui/growth#experiments"


def decision_alert_id(experiment: str, arm: str) -> str:
    digest = hashlib.sha256(f"{RULE}\x1f{experiment}\x1f{arm}".encode()).hexdigest()
    return digest[:24]


def decision_alert(
    report: dict[str, Any], arm: str, public_url: str, raised_at_ts: float
) -> dict[str, Any]:
    """The alert record for ``arm`` of an experiment ``report`` (experiments.analyse) whose
    effect has a ``decided_on`` day. ``raised_at_ts``: when the check saw it (Unix s)."""
    effect = report["effects"][arm]
    if effect.get("decided_on") is None:
        raise ValueError(f"{report['experiment']}/{arm} has no decision yet: nothing to alert")
    name = str(report["experiment"])
    control = str(report["control"])
    arms = report.get("arms", {})
    return {
        "schema": ALERT_SCHEMA,
        "alert_id": decision_alert_id(name, arm),
        "rule": RULE,
        "severity": SEVERITY,
        # The decision of an arm is made once: there is one episode.
        "episode": 0,
        "title": f"Experiment {name}: {effect['decision']} ({arm} vs {control})",
        "raised_at": datetime.fromtimestamp(raised_at_ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "raised_at_ts": raised_at_ts,
        "link": public_url.rstrip("/") + PAGE,
        "experiment": {
            "name": name,
            "description": str(report.get("description") or ""),
            "arm": arm,
            "control": control,
            "goal": report["goal"],
            "horizon_days": report["horizon_days"],
            "alpha": report["alpha"],
            "decision": effect["decision"],
            "decided_on": effect["decided_on"],
            "as_of": report["as_of"],
            "effect": effect["effect"],
            "relative": effect["relative"],
            "always_valid_interval": effect["always_valid_interval"],
            "p_value_always_valid": effect["p_value_always_valid"],
            "units": {
                arm: arms.get(arm, {}).get("units", 0),
                control: arms.get(control, {}).get("units", 0),
            },
        },
    }
