"""``/v1/destinations``: admin-only writes, public views only, secrets never in any answer."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr
from redis.asyncio import Redis

from vitals.notifier.destinations import RedisDestinationStore, generate_secret

from .conftest import ClientFactory

KEYS = SecretStr("reader-key:read;ingest-key:ingest;boss-key:admin")
ADMIN = {"Authorization": "Bearer boss-key"}
READER = {"Authorization": "Bearer reader-key"}
SLACK_URL = "https://hooks.slack.com/services/T0SECRET/B0SECRET/abcdefghSECRETTAIL"
HOOK_URL = "https://hooks.example.com/vitals/SECRETPATH0123?token=SECRETQUERY"
SECRET = generate_secret()


def _slack(**fields: Any) -> dict[str, Any]:
    return {"kind": "slack", "url": SLACK_URL, "name": "#cs", **fields}


def _assert_no_secrets(*responses: httpx.Response) -> None:
    for response in responses:
        for raw in (SLACK_URL, HOOK_URL, SECRET, "SECRET", SECRET[len("whsec_") :]):
            assert raw not in response.text, (response.request.url, response.text)


async def test_admin_creates_replaces_reads_and_deletes(api: ClientFactory, redis: Redis) -> None:
    async with api(api_keys=KEYS) as client:
        created = await client.put("/v1/destinations/cs", json=_slack(), headers=ADMIN)
        replaced = await client.put(
            "/v1/destinations/cs",
            json=_slack(routing={"owners": ["dana"], "min_severity": "warning"}),
            headers=ADMIN,
        )
        one = await client.get("/v1/destinations/cs", headers=READER)
        listing = await client.get("/v1/destinations", headers=READER)
        deleted = await client.delete("/v1/destinations/cs", headers=ADMIN)
        gone = await client.get("/v1/destinations/cs", headers=ADMIN)
        deleted_again = await client.delete("/v1/destinations/cs", headers=ADMIN)
    assert created.status_code == 201 and replaced.status_code == 200
    assert one.status_code == 200
    assert one.json()["url"] == "https://hooks.slack.com/…/TAIL"
    assert one.json()["routing"]["owners"] == ["dana"] and one.json()["has_secret"] is False
    assert [d["id"] for d in listing.json()["destinations"]] == ["cs"]
    assert deleted.status_code == 204
    assert gone.status_code == deleted_again.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert await RedisDestinationStore(redis).list() == []
    _assert_no_secrets(created, replaced, one, listing, gone)


async def test_stored_destination_keeps_the_real_url_and_secret(
    api: ClientFactory, redis: Redis
) -> None:
    body = {"kind": "webhook", "url": HOOK_URL, "secret": SECRET}
    async with api(api_keys=KEYS) as client:
        put = await client.put("/v1/destinations/hook", json=body, headers=ADMIN)
        one = await client.get("/v1/destinations/hook", headers=READER)
    assert put.status_code == 201 and one.json()["has_secret"] is True
    stored = await RedisDestinationStore(redis).get("hook")
    assert stored is not None and stored.url.get_secret_value() == HOOK_URL
    assert stored.secret is not None and stored.secret.get_secret_value() == SECRET
    _assert_no_secrets(put, one)


async def test_writes_need_admin_reads_need_read(api: ClientFactory) -> None:
    async with api(api_keys=KEYS) as client:
        no_key = await client.get("/v1/destinations")
        ingest = await client.get("/v1/destinations", headers={"X-API-Key": "ingest-key"})
        reader_put = await client.put("/v1/destinations/cs", json=_slack(), headers=READER)
        reader_delete = await client.delete("/v1/destinations/cs", headers=READER)
        reader_test = await client.post("/v1/destinations/cs/test", headers=READER)
        reader_list = await client.get("/v1/destinations", headers=READER)
    assert no_key.status_code == 401
    assert ingest.status_code == reader_put.status_code == 403
    assert reader_delete.status_code == reader_test.status_code == 403
    assert "'admin'" in reader_put.json()["detail"]
    assert reader_list.status_code == 200 and reader_list.json() == {"destinations": []}
    _assert_no_secrets(reader_put)


async def test_invalid_destinations_are_422_and_never_echo_url_or_secret(
    api: ClientFactory,
) -> None:
    bad_bodies = [
        {"kind": "slack", "url": "ftp://hooks.example.com/SECRETPATH"},  # not http(s)
        {"kind": "slack", "url": SLACK_URL, "secret": SECRET},  # secret on a chat kind
        {"kind": "webhook", "url": HOOK_URL, "secret": "whsec_SECRETbutshort"},
        {"kind": "pager", "url": SLACK_URL},
        {"kind": "slack", "url": SLACK_URL, "extra": SECRET},
        {"kind": "slack", "url": SLACK_URL, "rate_per_s": 0},
        {"kind": "slack", "url": SLACK_URL, "id": "other"},  # differs from the path
        {"kind": "slack"},  # no url
    ]
    async with api(api_keys=KEYS) as client:
        answers = [
            await client.put("/v1/destinations/cs", json=body, headers=ADMIN) for body in bad_bodies
        ]
        bad_id = await client.put("/v1/destinations/has%20space", json=_slack(), headers=ADMIN)
        not_json = await client.put(
            "/v1/destinations/cs", content=b'{"url": "' + SLACK_URL.encode(), headers=ADMIN
        )
        listing = await client.get("/v1/destinations", headers=ADMIN)
    for answer in (*answers, bad_id, not_json):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert any(e["loc"] == ["body", "url"] for e in answers[0].json()["errors"])
    assert "secret is only used by kind 'webhook'" in answers[1].json()["detail"]
    assert listing.json() == {"destinations": []}  # nothing half-written
    _assert_no_secrets(*answers, bad_id, not_json)
