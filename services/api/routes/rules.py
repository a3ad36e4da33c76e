"""``/v1/alert-rules``: the alert rules, their severities and settings; admins change settings.

Settings are the ``AlertConfig`` fields (services/core/config.py): code defaults, overridden by
what ``PUT`` stored in Redis (vitals.notifier.rules_store). The scorer polls the overrides and
applies them to its own config; ``effective`` here is the overrides over the code defaults.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import ValidationError

from vitals.api.deps import AdminAccess, ReadAccess, RulesStoreDep
from vitals.api.routes.destinations import invalid_body
from vitals.core.alert_rules import RULES, SEVERITY
from vitals.core.config import DEFAULT_CONFIG
from vitals.notifier.rules_store import apply_overrides, config_as_dict

router = APIRouter(prefix="/v1/alert-rules", tags=["alert rules"])


def _answer(overrides: dict[str, Any]) -> dict[str, Any]:
    effective = apply_overrides(DEFAULT_CONFIG, overrides).alerts
    return {
        "effective": config_as_dict(effective),
        "overrides": overrides,
        "defaults": config_as_dict(DEFAULT_CONFIG.alerts),
        "rules": [
            {"name": rule, "severity": SEVERITY[rule], "enabled": rule not in effective.disabled}
            for rule in RULES
        ],
    }


@router.get("", dependencies=[ReadAccess])
async def get_rules(store: RulesStoreDep) -> dict[str, Any]:
    """``effective`` settings (days, score points), the stored ``overrides``, the code
    ``defaults``, and every rule with its severity and whether it is enabled."""
    return _answer(await store.get_overrides())


@router.put("", dependencies=[AdminAccess])
async def put_rules(
    store: RulesStoreDep,
    body: Annotated[
        dict[str, Any],
        Body(
            description="The overrides, replacing the stored ones; fields left out take their "
            "defaults. Fields: gone_quiet_days, health_drop_points, health_drop_window_days, "
            "exit_margin_points, cooldown_days, max_timer_horizon_days, disabled (rule names).",
            examples=[{"cooldown_days": 3, "disabled": ["repurchase_overdue"]}],
        ),
    ],
) -> dict[str, Any]:
    """Validate and store the overrides; answers as GET. The scorer applies them on its next
    poll."""
    try:
        overrides = await store.put_overrides(body)
    except ValidationError as err:
        raise invalid_body(err) from None
    return _answer(overrides)
