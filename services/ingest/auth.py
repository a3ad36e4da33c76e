"""Which API key an ingest request presents, and whether it may write.

Accepted, in this order: ``Authorization: Bearer <key>``; ``Authorization: Basic`` with the key as
the user name (Segment's and RudderStack's SDKs send their write key so, with an empty password;
a key sent as the password with an empty user name is taken too); ``X-API-Key: <key>``; and, for
the SDKs that also put it there, ``"writeKey"`` in the JSON body. A header key, when present, is
the one checked: a body cannot override it.
"""

from __future__ import annotations

import base64
import binascii

from vitals.platform.apikeys import INGEST_SCOPE, ApiKeys, presented_key

from .errors import Forbidden, Unauthorized


def header_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key in the headers: Bearer, Basic (user name, else password) or X-API-Key."""
    if authorization and authorization[:6].lower() == "basic ":
        user, _, password = _basic_credentials(authorization[6:].strip())
        return user or password or None
    return presented_key(authorization, x_api_key)


def _basic_credentials(token: str) -> tuple[str, str, str]:
    try:
        text = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Basic credentials are not base64 of 'key:'") from None
    return text.partition(":")


def require_ingest(keys: ApiKeys, key: str | None) -> None:
    """Raise 401/403 unless ``key`` may write events (any key when none are configured)."""
    access = keys.check(key, INGEST_SCOPE)
    if access == "missing":
        raise Unauthorized(
            "send your key as 'Authorization: Bearer <key>', as the Basic user name (an SDK's "
            "write key) or as 'X-API-Key: <key>'"
        )
    if access == "unknown":
        raise Unauthorized("this key is not configured; check VITALS_API_KEYS")
    if access == "forbidden":
        raise Forbidden(f"this key lacks the '{INGEST_SCOPE}' scope")
