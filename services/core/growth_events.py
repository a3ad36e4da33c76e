"""Contract rules for the growth event types: leads, referrals and experiments (issue 13).

Kept apart from ``events.py`` (which only calls ``check_growth_event``) so the funnel's vocabulary
lives in one place. schemas/event.schema.json carries the same rules; tests/schemas and
tests/growth keep the two in agreement.

- ``lead``: ``created`` · ``engaged`` · ``stage_changed`` (``properties.stage`` names the stage
  reached: registered, mql, sql, opportunity, customer) · ``converted``. Any lead event may carry
  ``properties.tags`` (strings), which weigh into the lead score.
- ``referral``: ``invite_sent`` (by the referrer, keyed by the referrer) · ``invite_accepted``
  (keyed by the new account, ``properties.referrer_id`` required: who brought it).
- ``experiment``: ``assigned`` · ``exposed``; both name ``properties.experiment`` and
  ``properties.arm``.
"""

from __future__ import annotations

from typing import Any

GROWTH_EVENT_TYPES: tuple[str, ...] = ("lead", "referral", "experiment")
LEAD_NAMES = frozenset({"created", "engaged", "stage_changed", "converted"})
REFERRAL_NAMES = frozenset({"invite_sent", "invite_accepted"})
EXPERIMENT_NAMES = frozenset({"assigned", "exposed"})
NAMES_BY_TYPE: dict[str, frozenset[str]] = {
    "lead": LEAD_NAMES,
    "referral": REFERRAL_NAMES,
    "experiment": EXPERIMENT_NAMES,
}
# Stages a stage_changed event may name. "stranger" and "visitor" are not reported, they are
# inferred (no event yet; any event); "mql" may be set by hand although it is usually scored.
REPORTED_STAGES: tuple[str, ...] = ("registered", "mql", "sql", "opportunity", "customer")
# Same limit as ids: a tag or an experiment/arm name is a key, never prose.
MAX_KEY_LENGTH = 128
# A lead with more tags than this is a tagging bug upstream; the score would be meaningless.
MAX_TAGS = 32


def check_growth_event(kind: str, name: str | None, properties: dict[str, Any] | None) -> None:
    """Raise ``ValueError("field: what is wrong")`` when a growth event breaks the contract."""
    allowed = NAMES_BY_TYPE[kind]
    if name not in allowed:
        raise ValueError(f"name: {kind} events take one of {', '.join(sorted(allowed))}")
    props = properties or {}
    if kind == "lead":
        _check_tags(props.get("tags"))
        if name == "stage_changed" and props.get("stage") not in REPORTED_STAGES:
            raise ValueError(
                f"properties.stage: stage_changed names one of {', '.join(REPORTED_STAGES)}"
            )
    elif kind == "referral" and name == "invite_accepted":
        _require_key(props, "referrer_id", "the customer_id of who brought this account")
    elif kind == "experiment":
        _require_key(props, "experiment", "the experiment's id")
        _require_key(props, "arm", "the arm this account is in, e.g. control")


def _require_key(props: dict[str, Any], key: str, meaning: str) -> None:
    value = props.get(key)
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_KEY_LENGTH:
        raise ValueError(
            f"properties.{key}: required, a string of 1-{MAX_KEY_LENGTH} chars ({meaning})"
        )


def _check_tags(tags: Any) -> None:
    if tags is None:
        return
    if (
        not isinstance(tags, list)
        or len(tags) > MAX_TAGS
        or not all(isinstance(t, str) and 1 <= len(t) <= MAX_KEY_LENGTH for t in tags)
    ):
        raise ValueError(
            f"properties.tags: a list of at most {MAX_TAGS} strings of 1-{MAX_KEY_LENGTH} chars"
        )
