"""Slack payloads checked with slack_sdk's own Block Kit models: every block must parse to a
known block class, pass slack_sdk's validators, and serialise back to exactly what we sent
(an unknown or misspelt key would be dropped by slack_sdk and show up as a difference)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block, HeaderBlock, SectionBlock

from vitals.notifier.formats import slack

from ..support import make_alert, oversized_alert


def assert_round_trips(payload: dict[str, Any]) -> list[Block]:
    assert isinstance(payload["text"], str) and payload["text"]
    assert len(payload["blocks"]) <= slack.BLOCKS_MAX
    parsed = []
    for raw in payload["blocks"]:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        assert block.to_dict() == raw
        parsed.append(block)
    return parsed


def test_alert_renders_header_fields_reasons_and_button(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    blocks = assert_round_trips(slack.render(make_alert()))
    assert isinstance(blocks[0], HeaderBlock)
    assert "Acme Corp has gone quiet" in blocks[0].text.text
    fields = [f.text for f in blocks[1].fields]
    assert any("Acme Corp" in f and "/ui/customers/acme" in f for f in fields)
    assert any("dana" in f for f in fields)
    assert any("72.4 → 70.1" in f for f in fields)  # temperature before → after
    assert any("55 → 38" in f for f in fields)
    assert "• no activity for 9 days" in blocks[2].text.text
    assert isinstance(blocks[-1], ActionsBlock)
    button = blocks[-1].elements[0]
    assert button.url == "http://127.0.0.1:8080/ui/customers/acme"
    assert button.text.text == "Open customer"
    assert not caplog.records  # slack_sdk warns about unknown keys and blocks


def test_long_texts_are_truncated_within_slack_limits() -> None:
    blocks = assert_round_trips(slack.render(oversized_alert()))
    assert len(blocks[0].text.text) == slack.HEADER_TEXT_MAX
    assert blocks[0].text.text.endswith("…")
    assert all(len(f.text) <= slack.FIELD_TEXT_MAX for f in blocks[1].fields)
    assert len(blocks[2].text.text) == slack.SECTION_TEXT_MAX


def test_mrkdwn_control_characters_from_the_stream_are_escaped() -> None:
    payload = slack.render(make_alert(customer_name="<!channel> & co", link=None))
    customer = payload["blocks"][1]["fields"][0]["text"]
    assert "<!channel>" not in customer
    assert "&lt;!channel&gt; &amp; co" in customer
    assert all(b["type"] != "actions" for b in payload["blocks"])  # no link, no button


def test_critical_alert_button_is_danger_styled() -> None:
    blocks = assert_round_trips(slack.render(make_alert(severity="critical")))
    assert blocks[-1].elements[0].style == "danger"


def test_digest_lists_every_alert_in_valid_blocks() -> None:
    alerts = [make_alert(customer_name=f"Customer {i}", severity="info") for i in range(5)]
    alerts[3]["severity"] = "critical"
    payload = slack.render_digest(alerts)
    blocks = assert_round_trips(payload)
    assert "5 customer alerts" in blocks[0].text.text
    assert "🚨" in blocks[0].text.text  # the worst severity leads
    sections = [b for b in blocks if isinstance(b, SectionBlock)]
    assert len(sections) == 5
    assert all(f"Customer {i}" in sections[i].text.text for i in range(5))


def test_digest_of_more_alerts_than_blocks_allowed_says_how_many_more() -> None:
    alerts = [make_alert() for _ in range(70)]
    payload = slack.render_digest(alerts)
    assert_round_trips(payload)
    assert payload["blocks"][-1]["elements"][0]["text"] == f"and {70 - slack.DIGEST_ITEMS_MAX} more"
