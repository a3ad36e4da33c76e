"""``/v1/destinations``: where alerts are delivered (chat webhooks), managed by admins.

A destination's webhook URL and signing secret are secrets: no answer of these routes contains
them, errors included. Reads show ``public_view`` (URL masked, ``has_secret``); validation errors
name the field and the rule, never the value. Writing needs an ``admin`` key; reading ``read``.

The notifier re-reads destinations at most ``VITALS_NOTIFIER_DESTINATIONS_REFRESH_S`` seconds
after a change (on its next alert), so a PUT or DELETE takes effect within that time.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, Path, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from vitals.api.deps import AdminAccess, DestinationsDep, ReadAccess, SettingsDep
from vitals.core.alert_rules import ALERT_SCHEMA
from vitals.notifier.delivery import RetryPolicy, deliver, install_log_redaction
from vitals.notifier.destinations import ID_PATTERN, Destination, public_view
from vitals.notifier.formats import FORMATTERS
from vitals.platform.problems import Problem

router = APIRouter(prefix="/v1/destinations", tags=["destinations"])

# A test send is one attempt with a short timeout: the admin waits for the answer, and a
# platform that needs retries is exactly what the test should reveal.
TEST_POLICY = RetryPolicy(max_attempts=1, timeout_s=5.0)

DestinationId = Annotated[str, Path(pattern=ID_PATTERN, description="1-64 of A-Za-z0-9_.:-")]


def invalid_body(err: ValidationError) -> RequestValidationError:
    """A model's validation error as a request error (422 problem): field and rule, no input."""
    errors = err.errors(include_input=False, include_url=False, include_context=False)
    for item in errors:
        item["loc"] = ("body", *item["loc"])
    return RequestValidationError(errors)


def _unknown(destination_id: str) -> Problem:
    return Problem(
        404,
        "Unknown destination",
        f"no destination {destination_id!r}; create it with PUT /v1/destinations/{destination_id}",
    )


@router.get("", dependencies=[ReadAccess])
async def list_destinations(store: DestinationsDep) -> dict[str, Any]:
    """Every destination, by id: kind, name, masked URL, ``has_secret``, routing filter, rate
    (messages per second), burst, enabled."""
    return {"destinations": [public_view(d) for d in await store.list()]}


@router.get("/{destination_id}", dependencies=[ReadAccess])
async def get_destination(destination_id: DestinationId, store: DestinationsDep) -> dict[str, Any]:
    """One destination (URL masked, secret reduced to ``has_secret``)."""
    dest = await store.get(destination_id)
    if dest is None:
        raise _unknown(destination_id)
    return public_view(dest)


@router.put(
    "/{destination_id}",
    dependencies=[AdminAccess],
    responses={201: {"description": "Created."}, 200: {"description": "Replaced."}},
)
async def put_destination(
    destination_id: DestinationId,
    store: DestinationsDep,
    response: Response,
    body: Annotated[
        dict[str, Any],
        Body(
            description="The destination: kind (slack, teams, gchat, discord, webhook), url, "
            "name, secret (webhook only, whsec_...), routing {owners, segments, rules, "
            "min_severity}, rate_per_s, burst, enabled. Replaces the whole destination: send "
            "the url (and secret) again.",
            examples=[
                {
                    "kind": "slack",
                    "url": "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
                    "name": "#cs-alerts",
                    "routing": {"min_severity": "warning"},
                }
            ],
        ),
    ],
) -> dict[str, Any]:
    """Create or replace a destination; answers its public view (201 created, 200 replaced)."""
    if "id" in body and body["id"] != destination_id:
        raise Problem(422, "Invalid destination", "the id in the body differs from the path's")
    try:
        dest = Destination.model_validate({**body, "id": destination_id})
    except ValidationError as err:
        raise invalid_body(err) from None
    existed = await store.get(destination_id) is not None
    await store.put(dest)
    response.status_code = 200 if existed else 201
    return public_view(dest)


@router.delete("/{destination_id}", status_code=204, dependencies=[AdminAccess])
async def delete_destination(destination_id: DestinationId, store: DestinationsDep) -> Response:
    """Remove a destination; alerts already queued for it in the notifier still go out."""
    if not await store.delete(destination_id):
        raise _unknown(destination_id)
    return Response(status_code=204)


def sample_alert(public_url: str, now: float) -> dict[str, Any]:
    """A realistic alert record for test sends (customer "example"), raised ``now``."""
    return {
        "schema": ALERT_SCHEMA,
        "alert_id": f"test-{uuid.uuid4().hex[:16]}",
        "customer_id": "example",
        "customer_name": "Example Co (test alert)",
        "owner": None,
        "segment": None,
        "rule": "gone_quiet",
        "severity": "info",
        "episode": 0,
        "title": "Test alert from Vitals: this destination works",
        "raised_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "raised_at_ts": now,
        "predicted_at_ts": None,
        "before": {"temperature": 72.0, "health": 61.0, "risk": 22.0},
        "after": {"temperature": 70.0, "health": 44.0, "risk": 35.0},
        "reasons": [
            {"code": "test", "score": "alert", "text": "sent from POST /v1/destinations/…/test"}
        ],
        "link": f"{public_url.rstrip('/')}/ui/customers/example",
    }


@router.post("/{destination_id}/test", dependencies=[AdminAccess])
async def test_destination(
    destination_id: DestinationId, store: DestinationsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Send a sample alert through the destination's real format and delivery (one attempt,
    5 s timeout, disabled destinations too); answers whether it was accepted and why not.
    Not recorded in the delivery log."""
    dest = await store.get(destination_id)
    if dest is None:
        raise _unknown(destination_id)
    install_log_redaction()
    alert = sample_alert(settings.public_url, time.time())
    payload = FORMATTERS[dest.kind].render(alert)
    async with httpx.AsyncClient(follow_redirects=False) as client:
        result = await deliver(client, dest, payload, alert["alert_id"], policy=TEST_POLICY)
    return {
        "destination": public_view(dest),
        "delivered": result.delivered,
        "status_code": result.status_code,
        "error": result.error,  # masked by delivery: never the URL
    }
