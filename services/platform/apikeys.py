"""API keys with scopes, shared by the ingest and read APIs (pure: no web framework here).

Keys come from one setting, ``VITALS_API_KEYS = "key:scope1,scope2;key2:scope"``. Scopes are
``ingest`` (POST events), ``read`` (scores, lists) and ``admin`` (everything, including alert
destinations). An empty setting means no keys: every request is let in (development only; the
settings refuse that in prod).

Keys are held by their SHA-256 digest, so lookups compare digests, never the secret itself, and a
key never appears in a ``repr`` or a log line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal

INGEST_SCOPE = "ingest"
READ_SCOPE = "read"
ADMIN_SCOPE = "admin"  # implies every other scope
SCOPES = frozenset({INGEST_SCOPE, READ_SCOPE, ADMIN_SCOPE})

# Result of ``ApiKeys.check``: let in, or why not (missing/unknown -> 401, forbidden -> 403).
Access = Literal["ok", "missing", "unknown", "forbidden"]


class ApiKeyConfigError(ValueError):
    """VITALS_API_KEYS is malformed; the message says which entry and how to write it."""


def parse_api_keys(spec: str) -> dict[str, frozenset[str]]:
    """``"key:scope1,scope2;key2:scope"`` -> {key: scopes}. Empty text -> {} (open).

    Raises ``ApiKeyConfigError`` for an entry without scopes, an unknown scope (a typo would
    otherwise lock clients out silently), a key with spaces in it, or a key given twice.
    """
    keys: dict[str, frozenset[str]] = {}
    for position, entry in enumerate(spec.split(";"), start=1):
        if not entry.strip():
            continue
        key, sep, scope_text = entry.strip().partition(":")
        key = key.strip()
        scopes = frozenset(s.strip() for s in scope_text.split(",") if s.strip())
        where = f"VITALS_API_KEYS entry {position}"
        if not sep or not key or not scopes:
            raise ApiKeyConfigError(f"{where}: write it as key:scope1,scope2 (scopes: {_names()})")
        if any(ch.isspace() for ch in key):
            raise ApiKeyConfigError(f"{where}: a key cannot contain spaces")
        unknown = scopes - SCOPES
        if unknown:
            raise ApiKeyConfigError(
                f"{where}: unknown scope {', '.join(sorted(unknown))}; use {_names()}"
            )
        if key in keys:
            raise ApiKeyConfigError(f"{where}: this key is already listed; give it once")
        keys[key] = scopes
    return keys


def key_digest(key: str) -> bytes:
    """SHA-256 of a key: what ``ApiKeys`` stores and looks up."""
    return hashlib.sha256(key.encode("utf-8")).digest()


def presented_key(authorization: str | None, x_api_key: str | None = None) -> str | None:
    """The key a request presents: ``Authorization: Bearer <key>``, else ``X-API-Key: <key>``."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return (x_api_key or "").strip() or None


class ApiKeys:
    """The configured keys; ``check(key, scope)`` says whether a request may go on."""

    def __init__(self, keys: Mapping[str, frozenset[str]]) -> None:
        self._scopes = {key_digest(key): frozenset(scopes) for key, scopes in keys.items()}

    @classmethod
    def from_spec(cls, spec: str) -> ApiKeys:
        return cls(parse_api_keys(spec))

    @property
    def enabled(self) -> bool:
        """False when no keys are configured: everything is open (development)."""
        return bool(self._scopes)

    def check(self, key: str | None, scope: str) -> Access:
        if not self._scopes:
            return "ok"
        if key is None:
            return "missing"
        scopes = self._scopes.get(key_digest(key))
        if scopes is None:
            return "unknown"
        return "ok" if scope in scopes or ADMIN_SCOPE in scopes else "forbidden"

    def __repr__(self) -> str:
        return f"ApiKeys(<{len(self._scopes)} keys>)"


def _names() -> str:
    return ", ".join(sorted(SCOPES))
