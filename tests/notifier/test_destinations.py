"""Destinations: secrets stay secret (repr, JSON, public view, errors), and both stores agree."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError

from vitals.notifier.destinations import (
    Destination,
    DestinationStore,
    InMemoryDestinationStore,
    RedisDestinationStore,
    generate_secret,
    mask_url,
    public_view,
)
from vitals.platform.keyspace import DESTINATIONS_KEY

from .support import STORE_KINDS, memory_or_redis

SLACK_URL = "https://hooks.slack.com/services/T0000SECRET/B0000SECRET/abcdefghSECRETXYZW"


def slack(**extra: Any) -> Destination:
    return Destination.model_validate({"id": "sales", "kind": "slack", "url": SLACK_URL, **extra})


def test_mask_url_keeps_host_and_last_four_characters() -> None:
    assert mask_url(SLACK_URL) == "https://hooks.slack.com/…/XYZW"
    teams = "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sp=x&sig=SeCrEt1234"
    assert mask_url(teams) == "https://prod-12.westus.logic.azure.com:443/…/1234"
    assert mask_url("http://h/short") == "http://h/…/"


def test_url_and_secret_never_appear_in_repr_str_or_json() -> None:
    secret = generate_secret()
    dest = Destination(id="hook", kind="webhook", url=SLACK_URL, secret=secret)  # type: ignore[arg-type]
    for text in (repr(dest), str(dest), dest.model_dump_json(), json.dumps(public_view(dest))):
        assert "SECRET" not in text and secret not in text


def test_public_view_masks_the_url_and_reports_defaults() -> None:
    view = public_view(slack(routing={"owners": ["dana"]}))
    assert view["url"] == "https://hooks.slack.com/…/XYZW"
    assert view["has_secret"] is False
    assert view["rate_per_s"] == 1.0  # Slack: one message per second per webhook
    assert view["routing"]["owners"] == ["dana"]


def test_invalid_destinations_are_refused_without_echoing_the_url() -> None:
    with pytest.raises(ValidationError) as err:
        Destination.model_validate({"id": "x", "kind": "slack", "url": "ftp://h/SECRETPATH"})
    assert "SECRETPATH" not in str(err.value) and "http(s)" in str(err.value)
    with pytest.raises(ValidationError, match="only used by kind 'webhook'"):
        slack(secret=generate_secret())
    with pytest.raises(ValidationError, match="must start with 'whsec_'"):
        Destination.model_validate(
            {"id": "x", "kind": "webhook", "url": SLACK_URL, "secret": "abc"}
        )
    with pytest.raises(ValidationError, match="24-64 bytes"):
        Destination.model_validate(
            {"id": "x", "kind": "webhook", "url": SLACK_URL, "secret": "whsec_YWJj"}
        )
    with pytest.raises(ValidationError):
        slack(kind="email")


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest) -> DestinationStore:
    return memory_or_redis(request, InMemoryDestinationStore, RedisDestinationStore)


async def test_store_put_get_list_delete(store: DestinationStore) -> None:
    secret = generate_secret()
    hook = Destination(id="hook", kind="webhook", url=SLACK_URL, secret=secret)  # type: ignore[arg-type]
    await store.put(slack())
    await store.put(hook)
    assert [d.id for d in await store.list()] == ["hook", "sales"]
    got = await store.get("hook")
    assert got is not None and got.secret is not None
    assert got.secret.get_secret_value() == secret
    assert got.url.get_secret_value() == SLACK_URL
    await store.put(slack(enabled=False))
    assert (await store.get("sales")).enabled is False  # type: ignore[union-attr]
    assert await store.delete("sales") is True
    assert await store.delete("sales") is False
    assert await store.get("sales") is None
    assert [d.id for d in await store.list()] == ["hook"]


async def test_redis_store_keeps_one_hash_under_the_vitals_prefix(
    redis: aioredis.Redis,
) -> None:
    await RedisDestinationStore(redis).put(slack())
    assert DESTINATIONS_KEY.startswith("vitals:alerts:")
    stored = json.loads(await redis.hget(DESTINATIONS_KEY, "sales"))
    assert stored["url"] == SLACK_URL  # the real URL is stored: the notifier needs it
