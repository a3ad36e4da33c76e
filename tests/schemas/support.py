"""Shared helpers for the schema tests: loading schemas and examples, and a format checker.

jsonschema checks "date-time" only when the optional `rfc3339-validator` is installed. Where it is
not, ``format_checker`` registers a plain RFC 3339 check written here, independent of
vitals.core.events, so the schemas are always validated with their formats checked.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
EXAMPLES = SCHEMAS / "examples"

# RFC 3339 §5.6 date-time, as written in the RFC (leap second allowed, any fraction length).
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))",
    re.ASCII,
)


def is_rfc3339_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only constrain strings
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if match.group(9) is not None and (int(match.group(9)) > 23 or int(match.group(10)) > 59):
        return False
    try:
        datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except ValueError:
        return False
    return second <= 60


def format_checker() -> FormatChecker:
    checker = FormatChecker()
    if "date-time" not in checker.checkers:
        checker.checks("date-time")(is_rfc3339_date_time)
    return checker


@cache
def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def validator(name: str) -> Draft202012Validator:
    """A validator for schemas/<name>.schema.json with format checking on."""
    schema = load_json(SCHEMAS / f"{name}.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=format_checker())


def example(name: str) -> Any:
    """A fresh copy of schemas/examples/<name> (tests may change it)."""
    return copy.deepcopy(load_json(EXAMPLES / name))


def apply_variant(base: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    """Apply a variant's `set` and `delete` (dotted paths; list indexes are numbers)."""
    doc = copy.deepcopy(base)
    for path, value in variant.get("set", {}).items():
        parent, key = _walk(doc, path)
        parent[key] = value
    for path in variant.get("delete", []):
        parent, key = _walk(doc, path)
        del parent[key]
    return doc


def _walk(doc: Any, path: str) -> tuple[Any, Any]:
    *parents, last = path.split(".")
    for part in parents:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc, int(last) if isinstance(doc, list) else last


def error_paths(validator_: Draft202012Validator, instance: Any) -> set[str]:
    """Dotted paths of every error, sub-errors of anyOf/allOf included."""
    paths: set[str] = set()
    stack = list(validator_.iter_errors(instance))
    while stack:
        error = stack.pop()
        paths.add(".".join(str(part) for part in error.absolute_path))
        stack.extend(error.context or ())
    return paths
