"""Discord webhook payloads: one embed, coloured by severity.

Limits from discord.com/developers/docs/resources/message#embed-object-embed-limits: title 256,
description 4096, 25 fields, field name 256, field value 1024, footer 2048, 10 embeds, and 6000
characters across all embeds of a message. ``allowed_mentions`` is empty so a customer named
``@everyone`` pings nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vitals.notifier.formats import _common as c

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000  # title + description + field names/values + footer, all embeds
USERNAME = "Vitals"
SEVERITY_COLOR = {"info": 0x3498DB, "warning": 0xF1C40F, "critical": 0xE74C3C}


def _link(alert: Mapping[str, Any]) -> str | None:
    link = str(alert.get("link") or "")
    return link if link.startswith(("http://", "https://")) else None


def _embed_chars(embed: Mapping[str, Any]) -> int:
    fields = embed.get("fields") or []
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + len((embed.get("footer") or {}).get("text", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
    )


def enforce_limits(embed: dict[str, Any]) -> dict[str, Any]:
    """Clamp one embed to Discord's per-field and total limits (fields dropped first, then the
    description shortened), so the API never answers 400 for size."""
    embed["title"] = c.truncate(embed.get("title", ""), TITLE_MAX)
    if "description" in embed:
        embed["description"] = c.truncate(embed["description"], DESCRIPTION_MAX)
    fields = [
        {
            "name": c.truncate(f["name"], FIELD_NAME_MAX) or "–",
            "value": c.truncate(f["value"], FIELD_VALUE_MAX) or "–",
            "inline": f.get("inline", True),
        }
        for f in (embed.get("fields") or [])[:FIELDS_MAX]
    ]
    embed["fields"] = fields
    if "footer" in embed:
        embed["footer"] = {"text": c.truncate(embed["footer"]["text"], FOOTER_MAX)}
    while _embed_chars(embed) > EMBED_TOTAL_MAX and embed["fields"]:
        embed["fields"].pop()
    excess = _embed_chars(embed) - EMBED_TOTAL_MAX
    if excess > 0 and embed.get("description"):
        embed["description"] = c.truncate(embed["description"], len(embed["description"]) - excess)
    return embed


def _message(embed: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "username": USERNAME,
        "content": c.truncate(content, 2000),  # message content limit: 2000 characters
        "allowed_mentions": {"parse": []},
        "embeds": [enforce_limits(embed)],
    }


def render(alert: Mapping[str, Any]) -> dict[str, Any]:
    """One alert as a Discord webhook message with one embed."""
    sev = c.severity(alert)
    fields = [
        {"name": "Customer", "value": c.customer_label(alert), "inline": True},
        {"name": "Owner", "value": str(alert.get("owner") or "unassigned"), "inline": True},
        {"name": "Severity", "value": sev, "inline": True},
    ]
    fields += [{"name": n, "value": v, "inline": True} for n, v in c.score_changes(alert)]
    embed: dict[str, Any] = {
        "title": c.title(alert),
        "description": "\n".join(f"• {r}" for r in c.reason_texts(alert)) or c.rule_label(alert),
        "color": SEVERITY_COLOR[sev],
        "fields": fields,
        "footer": {"text": f"{c.rule_label(alert)} · alert {alert.get('alert_id', '')}"},
    }
    if _link(alert):
        embed["url"] = _link(alert)
    if alert.get("raised_at"):
        embed["timestamp"] = str(alert["raised_at"])
    return _message(embed, c.fallback_text(alert))


def render_digest(alerts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Many alerts as one embed whose description lists them (links as markdown)."""
    lines = []
    for a in alerts:
        name = c.customer_label(a).replace("[", "(").replace("]", ")")
        label = f"[{name}]({_link(a)})" if _link(a) else name
        lines.append(f"{c.SEVERITY_EMOJI[c.severity(a)]} {label}: {c.rule_label(a)}")
    worst = max((c.severity(a) for a in alerts), key=("info", "warning", "critical").index)
    embed = {
        "title": c.digest_title(alerts),
        "description": "\n".join(lines),
        "color": SEVERITY_COLOR[worst],
    }
    return _message(embed, c.digest_title(alerts))
