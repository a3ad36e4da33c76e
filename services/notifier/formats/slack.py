"""Slack incoming-webhook payloads in Block Kit: one alert, or a digest of many.

Limits are Slack's documented ones (api.slack.com/reference/block-kit/blocks). Text from the
stream (customer names, reasons) is escaped for mrkdwn so a name like ``<!channel>`` cannot ping
a whole channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vitals.notifier.formats import _common as c

HEADER_TEXT_MAX = 150  # header block: plain_text, max 150 characters
SECTION_TEXT_MAX = 3000  # section block text, max 3000 characters
FIELD_TEXT_MAX = 2000  # each section field, max 2000 characters
FIELDS_MAX = 10  # a section holds at most 10 fields
BUTTON_TEXT_MAX = 75  # button label
URL_MAX = 3000  # button url
BLOCKS_MAX = 50  # blocks per message
# Slack truncates a message's top-level `text` past 40,000 characters; we stay well below.
TEXT_MAX = 4000
# Digest: header + one section per alert + a closing context line must fit in BLOCKS_MAX.
DIGEST_ITEMS_MAX = BLOCKS_MAX - 2


def escape(text: str) -> str:
    """Escape the three characters mrkdwn treats as control: &, <, >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(alert: Mapping[str, Any]) -> str | None:
    link = str(alert.get("link") or "")
    ok = link.startswith(("http://", "https://")) and len(link) <= URL_MAX
    return link if ok and not any(ch in link for ch in "<>| ") else None


def _customer_mrkdwn(alert: Mapping[str, Any]) -> str:
    name = escape(c.customer_label(alert))
    link = _link(alert)
    return f"<{link}|{name}>" if link else name


def _field(label: str, value: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": c.truncate(f"*{label}*\n{value}", FIELD_TEXT_MAX)}


def render(alert: Mapping[str, Any]) -> dict[str, Any]:
    """One alert as ``{"text": ..., "blocks": [...]}`` for a Slack incoming webhook."""
    fields = [
        _field("Customer", _customer_mrkdwn(alert)),
        _field("Owner", escape(str(alert.get("owner") or "unassigned"))),
        _field("Severity", f"{c.SEVERITY_EMOJI[c.severity(alert)]} {c.severity(alert)}"),
        _field("Rule", escape(c.rule_label(alert))),
    ]
    fields += [_field(name, value) for name, value in c.score_changes(alert)]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": c.truncate(c.fallback_text(alert), HEADER_TEXT_MAX),
                "emoji": True,
            },
        },
        {"type": "section", "fields": fields[:FIELDS_MAX]},
    ]
    reasons = c.reason_texts(alert)
    if reasons:
        bullets = "\n".join(f"• {escape(r)}" for r in reasons)
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": c.truncate(f"*Why*\n{bullets}", SECTION_TEXT_MAX),
                },
            }
        )
    link = _link(alert)
    if link:
        button: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": c.truncate("Open customer", BUTTON_TEXT_MAX)},
            "url": link,
        }
        if c.severity(alert) == "critical":
            button["style"] = "danger"
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": c.truncate(c.fallback_text(alert), TEXT_MAX), "blocks": blocks}


def render_digest(alerts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Many alerts in one message: a header and one short section per alert."""
    shown = list(alerts)[:DIGEST_ITEMS_MAX]
    header = c.digest_title(alerts)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": c.truncate(header, HEADER_TEXT_MAX),
                "emoji": True,
            },
        }
    ]
    for alert in shown:
        changes = " · ".join(f"{n.lower()} {v}" for n, v in c.score_changes(alert))
        owner = escape(str(alert.get("owner") or "unassigned"))
        line = (
            f"{c.SEVERITY_EMOJI[c.severity(alert)]} *{_customer_mrkdwn(alert)}*: "
            f"{escape(c.rule_label(alert))} (owner {owner})"
        )
        text = f"{line}\n{changes}" if changes else line
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": c.truncate(text, SECTION_TEXT_MAX)},
            }
        )
    if len(alerts) > len(shown):
        more = f"and {len(alerts) - len(shown)} more"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    summary = "; ".join(c.one_line(a) for a in shown)
    return {"text": c.truncate(f"{header}: {summary}", TEXT_MAX), "blocks": blocks}
