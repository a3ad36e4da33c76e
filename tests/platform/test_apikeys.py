"""vitals.platform.apikeys: parsing VITALS_API_KEYS and checking a presented key's scope."""

from __future__ import annotations

import pytest

from vitals.platform.apikeys import ApiKeyConfigError, ApiKeys, parse_api_keys, presented_key


def test_parse_reads_keys_and_scopes_ignoring_blanks_and_spaces() -> None:
    keys = parse_api_keys(" k1 : ingest , read ;; k2:admin ; ")
    assert keys == {"k1": frozenset({"ingest", "read"}), "k2": frozenset({"admin"})}


def test_parse_empty_means_no_keys() -> None:
    assert parse_api_keys("") == {}
    assert parse_api_keys(" ; ") == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("k1", "entry 1: write it as key:scope1,scope2"),
        ("k1:", "entry 1: write it as key:scope1,scope2"),
        ("k1:read;:read", "entry 2: write it as key:scope1,scope2"),
        ("k1:raed", "unknown scope raed"),
        ("my key:read", "cannot contain spaces"),
        ("k1:read;k1:ingest", "already listed"),
    ],
)
def test_parse_rejects_malformed_entries_saying_which(spec: str, message: str) -> None:
    with pytest.raises(ApiKeyConfigError, match=message):
        parse_api_keys(spec)


def test_check_open_when_no_keys() -> None:
    keys = ApiKeys.from_spec("")
    assert not keys.enabled
    assert keys.check(None, "ingest") == "ok"


def test_check_missing_unknown_forbidden_and_ok() -> None:
    keys = ApiKeys.from_spec("w:ingest;r:read;a:admin")
    assert keys.enabled
    assert keys.check(None, "ingest") == "missing"
    assert keys.check("nope", "ingest") == "unknown"
    assert keys.check("r", "ingest") == "forbidden"
    assert keys.check("w", "ingest") == "ok"
    assert keys.check("a", "ingest") == "ok"  # admin implies every scope
    assert keys.check("a", "read") == "ok"


def test_repr_never_shows_a_key() -> None:
    keys = ApiKeys.from_spec("super-secret-key:admin")
    assert "super-secret" not in repr(keys)
    assert "1 keys" in repr(keys)


@pytest.mark.parametrize(
    ("authorization", "x_api_key", "key"),
    [
        ("Bearer abc", None, "abc"),
        ("bearer   abc  ", None, "abc"),
        ("Bearer ", None, None),
        ("Basic abc", None, None),
        (None, "abc", "abc"),
        ("Bearer abc", "other", "abc"),
        (None, "  ", None),
        (None, None, None),
    ],
)
def test_presented_key_prefers_bearer_then_x_api_key(
    authorization: str | None, x_api_key: str | None, key: str | None
) -> None:
    assert presented_key(authorization, x_api_key) == key
