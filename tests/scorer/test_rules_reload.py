"""The scorer picks up alert-rule overrides stored through the API (real Redis)."""

from __future__ import annotations

import redis.asyncio as aioredis

from vitals.core.config import DEFAULT_CONFIG
from vitals.notifier.rules_store import RulesStore
from vitals.platform.settings import Settings
from vitals.scorer.app import ScorerApp


async def test_overrides_in_redis_reach_the_processor_and_bad_ones_are_ignored(
    settings: Settings,
) -> None:
    scorer = ScorerApp(settings)
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        await RulesStore(client).put_overrides(
            {"gone_quiet_days": 3.0, "disabled": ["health_drop"]}
        )
        await scorer._reload_alert_rules()
        assert scorer.processor.config.alerts.gone_quiet_days == 3.0
        assert scorer.processor.config.alerts.disabled == ("health_drop",)
        # Scores are untouched by alert overrides.
        assert scorer.processor.config.health == DEFAULT_CONFIG.health

        await client.set("vitals:alerts:rules", b"{not json")
        await scorer._reload_alert_rules()
        assert scorer.processor.config.alerts.gone_quiet_days == 3.0

        await RulesStore(client).put_overrides({})
        await scorer._reload_alert_rules()
        assert scorer.processor.config.alerts == DEFAULT_CONFIG.alerts
    finally:
        await client.aclose()
        if scorer.redis is not None:
            await scorer.redis.aclose()
