"""``/v1/alert-rules``: the effective alert settings and the rules; admins store overrides."""

from __future__ import annotations

from pydantic import SecretStr

from vitals.core.alert_rules import RULES, SEVERITY
from vitals.core.config import DEFAULT_CONFIG

from .conftest import ClientFactory

KEYS = SecretStr("reader-key:read;boss-key:admin")
ADMIN = {"Authorization": "Bearer boss-key"}
READER = {"Authorization": "Bearer reader-key"}


async def test_defaults_and_every_rule_with_its_severity(api: ClientFactory) -> None:
    async with api(api_keys=KEYS) as client:
        body = (await client.get("/v1/alert-rules", headers=READER)).json()
    assert body["overrides"] == {}
    assert body["effective"] == body["defaults"]
    assert body["effective"]["cooldown_days"] == DEFAULT_CONFIG.alerts.cooldown_days
    assert [r["name"] for r in body["rules"]] == list(RULES)
    assert all(r["severity"] == SEVERITY[r["name"]] and r["enabled"] for r in body["rules"])


async def test_put_round_trips_and_only_admins_may(api: ClientFactory) -> None:
    change = {"cooldown_days": 2, "gone_quiet_days": 21, "disabled": ["repurchase_overdue"]}
    async with api(api_keys=KEYS) as client:
        refused = await client.put("/v1/alert-rules", json=change, headers=READER)
        put = await client.put("/v1/alert-rules", json=change, headers=ADMIN)
        got = (await client.get("/v1/alert-rules", headers=READER)).json()
        reset = await client.put("/v1/alert-rules", json={}, headers=ADMIN)
    assert refused.status_code == 403
    assert put.status_code == 200 and put.json() == got
    assert got["overrides"] == {
        "gone_quiet_days": 21.0,
        "cooldown_days": 2.0,
        "disabled": ["repurchase_overdue"],
    }
    assert got["effective"]["cooldown_days"] == 2.0
    assert got["effective"]["health_drop_points"] == DEFAULT_CONFIG.alerts.health_drop_points
    enabled = {r["name"]: r["enabled"] for r in got["rules"]}
    assert not enabled["repurchase_overdue"] and enabled["gone_quiet"]
    assert reset.json()["effective"] == reset.json()["defaults"]


async def test_invalid_overrides_are_422_and_leave_the_stored_ones(api: ClientFactory) -> None:
    async with api(api_keys=KEYS) as client:
        await client.put("/v1/alert-rules", json={"cooldown_days": 3}, headers=ADMIN)
        negative = await client.put("/v1/alert-rules", json={"cooldown_days": -1}, headers=ADMIN)
        unknown = await client.put(
            "/v1/alert-rules", json={"disabled": ["went_cold"]}, headers=ADMIN
        )
        typo = await client.put("/v1/alert-rules", json={"cooldown": 1}, headers=ADMIN)
        after = (await client.get("/v1/alert-rules", headers=ADMIN)).json()
    assert negative.status_code == unknown.status_code == typo.status_code == 422
    assert negative.json()["errors"][0]["loc"] == ["body", "cooldown_days"]
    assert "went_cold" in unknown.json()["detail"]
    assert after["overrides"] == {"cooldown_days": 3.0}
