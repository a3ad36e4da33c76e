"""Teams payloads: the card content validates against the official Adaptive Cards 1.5 JSON
Schema (draft-06, so Draft6Validator) copied from microsoft/AdaptiveCards."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

from vitals.notifier.formats import teams

from ..support import make_alert

SCHEMA_PATH = Path("/work/shared/data/adaptive-card-1.5.schema.json")


@cache
def validator() -> Draft6Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def card_of(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


def errors(card: dict[str, Any]) -> list[str]:
    return [e.message for e in validator().iter_errors(card)]


def test_schema_rejects_a_broken_card() -> None:
    # The validator must be live: an unknown property and a FactSet without facts both fail.
    assert errors({"type": "AdaptiveCard", "version": "1.5", "bogus": 1})
    assert errors({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "FactSet"}]})


def test_alert_card_is_valid_adaptive_card_1_5() -> None:
    card = card_of(teams.render(make_alert()))
    assert errors(card) == []
    assert card["version"] == "1.5"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Customer"] == "Acme Corp"
    assert facts["Owner"] == "dana"
    assert facts["Health"] == "55 → 38"
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open customer",
            "url": "http://127.0.0.1:8080/ui/customers/acme",
        }
    ]
    assert "no activity for 9 days" in card["body"][2]["text"]


def test_critical_title_uses_attention_colour_and_no_link_means_no_action() -> None:
    card = card_of(teams.render(make_alert(severity="critical", link=None, reasons=[])))
    assert errors(card) == []
    assert card["body"][0]["color"] == "Attention"
    assert "actions" not in card
    assert len(card["body"]) == 2


def test_digest_card_is_valid_and_within_teams_size_limit() -> None:
    alerts = [
        make_alert(customer_name="C" * 3000, reasons=[{"text": "x" * 3000}]) for _ in range(40)
    ]
    payload = teams.render_digest(alerts)
    card = card_of(payload)
    assert errors(card) == []
    assert len(json.dumps(payload).encode()) <= teams.PAYLOAD_MAX_BYTES
    assert card["body"][-1]["text"].startswith("and ")
