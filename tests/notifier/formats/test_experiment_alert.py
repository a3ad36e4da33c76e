"""Experiment decisions (rule ``experiment_decided``) in every chat format: the experiment, the
decision, the effect with its always-valid interval and a link to the growth page, and none of
the customer layout (no "unknown customer", no owner, no score changes)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from vitals.notifier.formats import FORMATTERS, discord, gchat, slack, teams

from ..support import ROOT, make_alert
from .test_slack import assert_round_trips
from .test_teams import card_of, errors

EXAMPLE: dict[str, Any] = json.loads(
    (ROOT / "schemas" / "examples" / "alert.experiment.example.json").read_text()
)
LINK = "http://127.0.0.1:8080/ui/growth#experiments"


def decided(**experiment: Any) -> dict[str, Any]:
    alert = copy.deepcopy(EXAMPLE)
    alert["experiment"].update(experiment)
    return alert


def test_slack_shows_the_decision_effect_interval_and_opens_the_growth_page() -> None:
    blocks = assert_round_trips(slack.render(decided()))
    assert "Experiment nurture-drip: treatment better" in blocks[0].text.text
    fields = {f.text.split("\n", 1)[0]: f.text.split("\n", 1)[1] for f in blocks[1].fields}
    assert fields["*Experiment*"] == "nurture-drip"
    assert fields["*Decision*"] == "treatment better (treatment vs control)"
    assert fields["*Effect*"] == "+6.1 points (+52 %)"
    assert fields["*Always-valid interval*"] == "+0.4 points to +11.8 points (95 %)"
    assert fields["*Units*"] == "treatment 812 · control 798"
    assert "*Customer*" not in fields and "*Owner*" not in fields
    assert "Nurture e-mail drip" in blocks[2].text.text
    button = blocks[-1].elements[0]
    assert button.url == LINK and button.text.text == "Open experiment"


def test_revenue_goal_reads_in_money_and_an_open_interval_side_says_so() -> None:
    alert = decided(
        goal="revenue", effect=-12.5, relative=None, always_valid_interval=[-20.0, None]
    )
    widgets = gchat.render(alert)["cardsV2"][0]["card"]["sections"][0]["widgets"]
    facts = {w["decoratedText"]["topLabel"]: w["decoratedText"]["text"] for w in widgets[:-2]}
    assert facts["Effect"] == "-12.50 per unit"
    assert facts["Always-valid interval"] == "-20.00 to unbounded (95 %)"


def test_teams_card_is_valid_and_lists_the_decision() -> None:
    card = card_of(teams.render(decided()))
    assert errors(card) == []
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Decision"] == "treatment better (treatment vs control)"
    assert "Customer" not in facts
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open experiment", "url": LINK}]


def test_gchat_and_discord_name_the_experiment_not_a_customer() -> None:
    card = gchat.render(decided())["cardsV2"][0]["card"]
    assert card["header"]["subtitle"] == "experiment nurture-drip"
    button = card["sections"][0]["widgets"][-1]["buttonList"]["buttons"][0]
    assert button["text"] == "Open experiment"
    (embed,) = discord.render(decided())["embeds"]
    names = {f["name"]: f["value"] for f in embed["fields"]}
    assert names["Effect"] == "+6.1 points (+52 %)"
    assert "Customer" not in names and embed["url"] == LINK
    assert "unknown customer" not in json.dumps(embed)


@pytest.mark.parametrize("kind", ["slack", "teams", "gchat", "discord"])
def test_a_digest_mixing_experiments_and_customers_names_each(kind: str) -> None:
    render_digest = FORMATTERS[kind].render_digest
    assert render_digest is not None
    text = json.dumps(render_digest([decided(), make_alert()]), ensure_ascii=False)
    assert "nurture-drip" in text and "treatment better" in text and "Acme Corp" in text
    assert "unknown customer" not in text
    assert "2 alerts" in text and "customer alerts" not in text


def test_generic_webhooks_get_the_record_unchanged() -> None:
    assert FORMATTERS["webhook"].render(decided()) == EXAMPLE
