"""Per-platform payloads: pure functions from alert records (dicts) to JSON-ready dicts.

``FORMATTERS[kind]`` gives ``render(alert)`` and, where the platform is read by people,
``render_digest(alerts)``. Generic webhooks have no digest: their receivers are programs that
deduplicate on ``webhook-id`` = alert id, so each alert goes alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vitals.notifier.formats import discord, gchat, slack, teams, webhook

Render = Callable[[Mapping[str, Any]], dict[str, Any]]
RenderDigest = Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]]


@dataclass(frozen=True)
class Formatter:
    kind: str
    render: Render
    render_digest: RenderDigest | None


FORMATTERS: dict[str, Formatter] = {
    "slack": Formatter("slack", slack.render, slack.render_digest),
    "teams": Formatter("teams", teams.render, teams.render_digest),
    "gchat": Formatter("gchat", gchat.render, gchat.render_digest),
    "discord": Formatter("discord", discord.render, discord.render_digest),
    "webhook": Formatter("webhook", webhook.render, None),
}

__all__ = ["FORMATTERS", "Formatter"]
