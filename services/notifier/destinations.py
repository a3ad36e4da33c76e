"""Where alerts go: chat webhook destinations, their secrets, and where they are stored.

A destination's webhook URL is a secret (anyone holding a Slack or Teams webhook URL can post to
the channel), and so is a generic webhook's signing secret. Both are ``SecretStr``: ``repr``,
``str`` and ``model_dump(mode="json")`` show ``**********``. Storage reads and writes the real
values (``to_stored`` / ``from_stored``); anything meant for display goes through
``public_view``, which shows the URL masked as ``https://hooks.slack.com/…/AbCd``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from vitals.notifier.errors import DestinationError
from vitals.platform.keyspace import DESTINATIONS_KEY

Kind = Literal["slack", "teams", "gchat", "discord", "webhook"]
Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}

# Default messages per second per destination, from each platform's documented webhook limits.
DEFAULT_RATE_PER_S: dict[str, float] = {
    # Slack incoming webhooks: "1 message per second per webhook", short bursts tolerated.
    "slack": 1.0,
    # Discord webhooks: ~30 messages per minute per channel (429 beyond), so 0.5/s sustained.
    "discord": 0.5,
    # Google Chat: 1 write per second per space for incoming webhooks.
    "gchat": 1.0,
    # Teams Workflows (Power Automate HTTP trigger): no hard per-second number published; the old
    # connectors allowed 4/s and throttled beyond; 1/s keeps a channel readable.
    "teams": 1.0,
    # Generic webhooks are machine receivers; 10/s is a polite default, override per destination.
    "webhook": 10.0,
}

SECRET_PREFIX = "whsec_"
# Standard Webhooks: secrets are 24 to 64 random bytes (base64 after the whsec_ prefix).
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
GENERATED_SECRET_BYTES = 32
# How many trailing characters of a webhook URL the masked form keeps (like a card's last four).
MASK_KEEP_CHARS = 4
# Below this many characters of path+query, even the last four would reveal too much.
MASK_MIN_SECRET_CHARS = 12
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


def mask_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/abcdXYZ1`` -> ``https://hooks.slack.com/…/XYZ1``."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    tail = rest[-MASK_KEEP_CHARS:] if len(rest) >= MASK_MIN_SECRET_CHARS else ""
    return f"{parts.scheme or 'https'}://{host}/…/{tail}"


def decode_secret(secret: str) -> bytes:
    """``whsec_<base64>`` -> the HMAC key bytes; raises ``DestinationError`` if malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise DestinationError(f"signing secret must start with {SECRET_PREFIX!r}")
    body = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise DestinationError("signing secret is not valid base64 after 'whsec_'") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise DestinationError(
            f"signing secret must decode to {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes, "
            f"got {len(key)}; generate one with vitals.notifier.destinations.generate_secret()"
        )
    return key


def generate_secret() -> str:
    """A fresh Standard Webhooks signing secret (``whsec_`` + 32 random bytes, base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_SECRET_BYTES)).decode()


class RoutingFilter(BaseModel):
    """Which alerts a destination receives. Empty lists mean "all"."""

    model_config = ConfigDict(extra="forbid")

    owners: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    min_severity: Severity = "info"


class Destination(BaseModel):
    """One chat channel or HTTP endpoint alerts are delivered to."""

    # Validation errors must not echo the input: it holds the webhook URL and signing secret.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    id: str = Field(pattern=ID_PATTERN)
    kind: Kind
    url: SecretStr
    name: str = ""
    # Generic webhooks only: Standard Webhooks signing secret, "whsec_<base64>".
    secret: SecretStr | None = None
    routing: RoutingFilter = Field(default_factory=RoutingFilter)
    # Messages per second; None = the platform default in DEFAULT_RATE_PER_S.
    rate_per_s: float | None = Field(default=None, gt=0)
    # Token bucket size: messages that may go back to back before the rate applies.
    burst: int = Field(default=1, ge=1)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: SecretStr) -> SecretStr:
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Never echo the value: it is the secret.
            raise ValueError("url must be an absolute http(s) URL (the platform's webhook URL)")
        return value

    @model_validator(mode="after")
    def _secret_fits_kind(self) -> Destination:
        if self.secret is not None:
            if self.kind != "webhook":
                raise ValueError("secret is only used by kind 'webhook' (Standard Webhooks)")
            try:
                decode_secret(self.secret.get_secret_value())
            except DestinationError as err:
                raise ValueError(str(err)) from None
        return self

    @property
    def rate(self) -> float:
        """Messages per second this destination is sent at most."""
        return self.rate_per_s if self.rate_per_s is not None else DEFAULT_RATE_PER_S[self.kind]

    @property
    def masked_url(self) -> str:
        return mask_url(self.url.get_secret_value())


def public_view(dest: Destination) -> dict[str, Any]:
    """The destination as shown in APIs and logs: URL masked, secret reduced to a flag."""
    data = dest.model_dump(mode="json", exclude={"url", "secret"})
    data["url"] = dest.masked_url
    data["has_secret"] = dest.secret is not None
    data["rate_per_s"] = dest.rate
    return data


def to_stored(dest: Destination) -> dict[str, Any]:
    """The destination with its secrets in clear, for storage only (never for display)."""
    data = dest.model_dump(mode="json", exclude={"url", "secret"})
    data["url"] = dest.url.get_secret_value()
    data["secret"] = dest.secret.get_secret_value() if dest.secret is not None else None
    return data


def from_stored(data: Mapping[str, Any]) -> Destination:
    return Destination.model_validate(dict(data))


class DestinationStore(Protocol):
    """Where destinations live. The admin API and the notifier share one implementation."""

    async def list(self) -> list[Destination]: ...

    async def get(self, destination_id: str) -> Destination | None: ...

    async def put(self, dest: Destination) -> None: ...

    async def delete(self, destination_id: str) -> bool: ...


class InMemoryDestinationStore:
    """A dict; for tests and a single-process setup."""

    def __init__(self, destinations: list[Destination] | None = None) -> None:
        self._items: dict[str, Destination] = {d.id: d for d in destinations or []}

    async def list(self) -> list[Destination]:
        return [self._items[k] for k in sorted(self._items)]

    async def get(self, destination_id: str) -> Destination | None:
        return self._items.get(destination_id)

    async def put(self, dest: Destination) -> None:
        self._items[dest.id] = dest

    async def delete(self, destination_id: str) -> bool:
        return self._items.pop(destination_id, None) is not None


class RedisDestinationStore:
    """One Redis hash ``vitals:alerts:destinations``: id -> destination JSON (secrets included).

    Protect the Redis that holds it like any secret store (AUTH, no public bind).
    """

    def __init__(self, redis: Any, key: str = DESTINATIONS_KEY) -> None:
        self._redis = redis
        self._key = key

    async def list(self) -> list[Destination]:
        raw = await self._redis.hgetall(self._key)
        items = [from_stored(json.loads(v)) for v in raw.values()]
        return sorted(items, key=lambda d: d.id)

    async def get(self, destination_id: str) -> Destination | None:
        raw = await self._redis.hget(self._key, destination_id)
        return None if raw is None else from_stored(json.loads(raw))

    async def put(self, dest: Destination) -> None:
        await self._redis.hset(self._key, dest.id, json.dumps(to_stored(dest)))

    async def delete(self, destination_id: str) -> bool:
        return bool(await self._redis.hdel(self._key, destination_id))
