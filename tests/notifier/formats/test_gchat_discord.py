"""Google Chat and Discord payloads: structure and the platforms' documented limits."""

from __future__ import annotations

import json

from vitals.notifier.formats import discord, gchat

from ..support import make_alert, oversized_alert


def test_gchat_alert_has_text_and_card_with_open_link() -> None:
    payload = gchat.render(make_alert(customer_name="A <b>&</b> B"))
    assert payload["text"].endswith("Acme Corp has gone quiet")
    card = payload["cardsV2"][0]["card"]
    widgets = card["sections"][0]["widgets"]
    assert {"decoratedText": {"topLabel": "Health", "text": "55 → 38"}} in widgets
    button = widgets[-1]["buttonList"]["buttons"][0]
    assert button["onClick"]["openLink"]["url"] == "http://127.0.0.1:8080/ui/customers/acme"
    assert card["header"]["subtitle"] == "A <b>&</b> B"  # header text is plain text


def test_gchat_escapes_html_in_widget_text_and_digest_fits_32000_bytes() -> None:
    widgets = gchat.render(make_alert(owner="<i>x</i>"))["cardsV2"][0]["card"]["sections"][0][
        "widgets"
    ]
    assert widgets[0]["decoratedText"]["text"] == "&lt;i&gt;x&lt;/i&gt;"
    alerts = [make_alert(customer_name="N" * 3000) for _ in range(40)]
    payload = gchat.render_digest(alerts)
    assert len(json.dumps(payload).encode()) <= gchat.PAYLOAD_MAX_BYTES
    assert len(payload["text"]) <= gchat.TEXT_MAX


def _total_chars(embed: dict) -> int:
    return (
        len(embed["title"])
        + len(embed.get("description", ""))
        + len(embed.get("footer", {}).get("text", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    )


def test_discord_embed_colour_follows_severity_and_mentions_are_disabled() -> None:
    payload = discord.render(make_alert(severity="critical", customer_name="@everyone"))
    (embed,) = payload["embeds"]
    assert embed["color"] == discord.SEVERITY_COLOR["critical"]
    assert payload["allowed_mentions"] == {"parse": []}
    assert embed["url"] == "http://127.0.0.1:8080/ui/customers/acme"
    assert {"name": "Risk", "value": "31 → 44", "inline": True} in embed["fields"]
    assert embed["timestamp"] == "2026-11-23T18:00:00Z"


def test_discord_limits_hold_for_oversized_alerts() -> None:
    (embed,) = discord.render(oversized_alert())["embeds"]
    assert len(embed["title"]) <= discord.TITLE_MAX
    assert len(embed["description"]) <= discord.DESCRIPTION_MAX
    assert len(embed["fields"]) <= discord.FIELDS_MAX
    assert all(len(f["value"]) <= discord.FIELD_VALUE_MAX for f in embed["fields"])
    assert all(len(f["name"]) <= discord.FIELD_NAME_MAX for f in embed["fields"])
    assert _total_chars(embed) <= discord.EMBED_TOTAL_MAX


def test_discord_enforce_limits_caps_fields_at_25() -> None:
    embed = discord.enforce_limits(
        {"title": "t", "fields": [{"name": f"n{i}", "value": "v"} for i in range(40)]}
    )
    assert len(embed["fields"]) == 25


def test_discord_digest_lists_all_alerts_within_limits() -> None:
    alerts = [make_alert(customer_name=f"Customer [{i}]") for i in range(300)]
    payload = discord.render_digest(alerts)
    (embed,) = payload["embeds"]
    assert embed["description"].startswith(
        "⚠️ [Customer (0)](http://127.0.0.1:8080/ui/customers/acme)"
    )
    assert len(embed["description"]) <= discord.DESCRIPTION_MAX
    assert _total_chars(embed) <= discord.EMBED_TOTAL_MAX
