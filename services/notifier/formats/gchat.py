"""Google Chat incoming-webhook payloads: a one-line ``text`` (what notifications show) and a
``cardsV2`` card with the details.

Limits from developers.google.com/workspace/chat: message text up to 4,096 characters, a whole
message up to 32,000 bytes. Card text takes a small HTML subset, so stream text is escaped.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from vitals.notifier.formats import _common as c

TEXT_MAX = 4096
PAYLOAD_MAX_BYTES = 32_000
WIDGET_TEXT_MAX = 2000  # a readable cap per widget; the byte limit is the real bound
DIGEST_ITEMS_MAX = 30


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _decorated(label: str, text: str) -> dict[str, Any]:
    return {"decoratedText": {"topLabel": label, "text": _esc(c.truncate(text, WIDGET_TEXT_MAX))}}


def _button(link: str) -> dict[str, Any]:
    return {
        "buttonList": {
            "buttons": [{"text": "Open customer", "onClick": {"openLink": {"url": link}}}]
        }
    }


def _link(alert: Mapping[str, Any]) -> str | None:
    link = str(alert.get("link") or "")
    return link if link.startswith(("http://", "https://")) else None


def render(alert: Mapping[str, Any]) -> dict[str, Any]:
    """One alert as ``{"text": ..., "cardsV2": [...]}``."""
    widgets = [
        _decorated("Owner", str(alert.get("owner") or "unassigned")),
        _decorated("Severity", c.severity(alert)),
        _decorated("Rule", c.rule_label(alert)),
    ]
    widgets += [_decorated(name, value) for name, value in c.score_changes(alert)]
    reasons = c.reason_texts(alert)
    if reasons:
        text = "<br>".join(f"• {_esc(r)}" for r in reasons)
        widgets.append({"textParagraph": {"text": c.truncate(text, WIDGET_TEXT_MAX)}})
    link = _link(alert)
    if link:
        widgets.append(_button(link))
    card = {
        "header": {
            "title": c.truncate(c.title(alert), WIDGET_TEXT_MAX),
            "subtitle": c.truncate(c.customer_label(alert), WIDGET_TEXT_MAX),
        },
        "sections": [{"widgets": widgets}],
    }
    return {
        "text": c.truncate(c.fallback_text(alert), TEXT_MAX),
        "cardsV2": [{"cardId": f"alert-{alert.get('alert_id', '')}", "card": card}],
    }


def render_digest(alerts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Many alerts: one decorated line each, halved until the message fits 32,000 bytes."""
    shown = list(alerts)[:DIGEST_ITEMS_MAX]
    while True:
        widgets = [_decorated(c.customer_label(a), c.one_line(a)) for a in shown]
        if len(alerts) > len(shown):
            widgets.append({"textParagraph": {"text": f"and {len(alerts) - len(shown)} more"}})
        payload = {
            "text": c.truncate(c.digest_title(alerts), TEXT_MAX),
            "cardsV2": [
                {
                    "cardId": "alert-digest",
                    "card": {
                        "header": {"title": c.digest_title(alerts)},
                        "sections": [{"widgets": widgets}],
                    },
                }
            ],
        }
        if len(json.dumps(payload).encode()) <= PAYLOAD_MAX_BYTES or len(shown) <= 1:
            return payload
        shown = shown[: len(shown) // 2]
