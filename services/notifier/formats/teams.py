"""Microsoft Teams payloads for a Workflows ("Post to a channel when a webhook request is
received") webhook: a message with one Adaptive Card 1.5 attachment.

The card uses only TextBlock, FactSet and Action.OpenUrl, which every Teams client renders.
Office 365 connectors (MessageCard) are retired; Workflows takes this shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vitals.notifier.formats import _common as c

CARD_VERSION = "1.5"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams rejects messages over ~28 KB (its documented message size limit); keep a margin.
PAYLOAD_MAX_BYTES = 27_000
TITLE_MAX = 200  # one readable line; Teams does not publish a TextBlock limit
TEXT_MAX = 4000  # reason list and fact values: kept well below the payload limit
DIGEST_ITEMS_MAX = 30
SEVERITY_COLOR = {"info": "Default", "warning": "Warning", "critical": "Attention"}


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _link(alert: Mapping[str, Any]) -> str | None:
    link = str(alert.get("link") or "")
    return link if link.startswith(("http://", "https://")) else None


def _wrap(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def _card(
    body: list[dict[str, Any]], actions: list[dict[str, Any]], fallback: str
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": fallback,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def render(alert: Mapping[str, Any]) -> dict[str, Any]:
    """One alert as a Teams Workflows message with an Adaptive Card."""
    sev = c.severity(alert)
    facts = [
        {"title": "Customer", "value": c.truncate(c.customer_label(alert), TITLE_MAX)},
        {"title": "Owner", "value": c.truncate(str(alert.get("owner") or "unassigned"), TITLE_MAX)},
        {"title": "Severity", "value": sev},
        {"title": "Rule", "value": c.rule_label(alert)},
    ]
    facts += [{"title": name, "value": value} for name, value in c.score_changes(alert)]
    body = [
        _text_block(
            c.truncate(c.fallback_text(alert), TITLE_MAX),
            weight="Bolder",
            size="Medium",
            color=SEVERITY_COLOR[sev],
        ),
        {"type": "FactSet", "facts": facts},
    ]
    reasons = c.reason_texts(alert)
    if reasons:
        body.append(_text_block("\n".join(f"- {r}" for r in reasons)[:TEXT_MAX]))
    link = _link(alert)
    actions = [{"type": "Action.OpenUrl", "title": "Open customer", "url": link}] if link else []
    return _wrap(_card(body, actions, c.truncate(c.one_line(alert), TEXT_MAX)))


def render_digest(alerts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Many alerts as one card: a title and one fact per alert, trimmed to the size limit."""
    shown = list(alerts)[:DIGEST_ITEMS_MAX]
    while True:
        facts = [
            {
                "title": c.truncate(c.customer_label(a), TITLE_MAX),
                "value": c.truncate(c.one_line(a), TEXT_MAX),
            }
            for a in shown
        ]
        body = [
            _text_block(c.digest_title(alerts), weight="Bolder", size="Medium"),
            {"type": "FactSet", "facts": facts},
        ]
        if len(alerts) > len(shown):
            body.append(_text_block(f"and {len(alerts) - len(shown)} more", isSubtle=True))
        payload = _wrap(_card(body, [], c.digest_title(alerts)))
        if len(json.dumps(payload).encode()) <= PAYLOAD_MAX_BYTES or len(shown) <= 1:
            return payload
        shown = shown[: len(shown) // 2]
