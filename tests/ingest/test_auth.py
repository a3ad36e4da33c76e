"""The key an SDK presents: Basic with the write key as user name, or writeKey in the body."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from vitals.ingest.app import create_app
from vitals.platform.settings import Settings

from .support import MemorySink, event, running

KEYS = SecretStr("writer-key-0123456789:ingest;reader-key-0123456789:read")


def basic(user: str, password: str = "") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    ("headers", "body_key", "status"),
    [
        (basic("writer-key-0123456789"), None, 200),  # Segment, RudderStack
        (basic("", "writer-key-0123456789"), None, 200),  # key as the password
        ({}, "writer-key-0123456789", 200),  # writeKey in the body only
        (basic("reader-key-0123456789"), None, 403),
        (basic("nobody"), None, 401),
        ({"Authorization": "Basic !!!"}, None, 401),
        ({}, "nobody", 401),
        ({}, None, 401),
        # A key in the headers is the one checked; the body cannot override it.
        (basic("nobody"), "writer-key-0123456789", 401),
    ],
)
async def test_write_key_as_basic_user_or_in_the_body(
    headers: dict[str, str], body_key: str | None, status: int
) -> None:
    sink = MemorySink()
    body: dict[str, object] = {"batch": [event(1)]}
    if body_key is not None:
        body["writeKey"] = body_key
    async with running(create_app(Settings(api_keys=KEYS), sink)) as client:
        response = await client.post("/v1/batch", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert len(sink.batches) == (1 if status == 200 else 0)
    if status != 200:
        # Segment's and RudderStack's SDKs log these two fields of an error answer.
        assert response.json()["code"] and response.json()["message"]


async def test_garbage_without_any_key_is_401_not_400() -> None:
    async with running(create_app(Settings(api_keys=KEYS), MemorySink())) as client:
        response = await client.post("/v1/batch", content=b"{not json")
    assert response.status_code == 401
