"""docs/operations.md lists every setting with its default, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from vitals.platform.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ROW = re.compile(r"^\| `VITALS_([A-Z0-9_]+)` \| ([^|]+) \|", re.MULTILINE)


def _documented() -> dict[str, str]:
    section = DOC.read_text().split("## Settings", 1)[1]
    return {name.lower(): default.strip() for name, default in ROW.findall(section)}


def test_every_setting_is_in_the_table_and_every_row_is_a_setting() -> None:
    assert set(_documented()) == set(Settings.model_fields)


def test_each_documented_default_is_the_settings_default() -> None:
    for name, documented in _documented().items():
        field = Settings.model_fields[name]
        default = field.default_factory() if field.default_factory else field.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if default == "":
            assert documented.startswith("empty"), name
        elif isinstance(default, dict):
            assert documented == f"`{default or '{}'}`", name
        else:
            assert documented.startswith(f"`{default}`"), (name, documented, default)
