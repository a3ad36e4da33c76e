"""The growth configuration of a tenant, from a TOML file (``VITALS_GROWTH_CONFIG``).

Every key is a ``GrowthConfig`` field and overrides its default; ``[experiments.<name>]`` tables
register the experiments (goal fixed up front, control arm, horizon), replacing the example one.
deploy/growth.example.toml lists every key (docs/growth.md, "Configuration"). Both the growth
worker and the API read the same file, so the reports are computed with the thresholds and goals
that built the totals. A file with an unknown key, a wrong type or a value out of range is
refused at start-up with what and where.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .config import DEFAULT_GROWTH, ExperimentSpec, GrowthConfig


class GrowthConfigError(ValueError):
    """The growth configuration file cannot be used; the message says why."""


def load_growth_config(path: Path | None) -> GrowthConfig:
    """The configuration in ``path`` over the defaults; the defaults when ``path`` is None."""
    if path is None:
        return DEFAULT_GROWTH
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise GrowthConfigError(f"growth config {path}: cannot read it ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise GrowthConfigError(f"growth config {path}: not valid TOML ({err})") from None
    return parse_growth_config(raw, f"growth config {path}")


def parse_growth_config(raw: dict[str, Any], source: str = "growth config") -> GrowthConfig:
    unknown = _unknown_keys(raw, GrowthConfig, "")
    experiments = raw.get("experiments")
    if isinstance(experiments, dict):
        for name, spec in experiments.items():
            if isinstance(spec, dict):
                unknown += _unknown_keys(spec, ExperimentSpec, f"experiments.{name}.")
    if unknown:
        raise GrowthConfigError(f"{source}: unknown key(s) {', '.join(unknown)}")
    try:
        return TypeAdapter(GrowthConfig).validate_python(raw)
    except ValidationError as err:
        problems = "; ".join(
            ": ".join(filter(None, (".".join(str(p) for p in e["loc"]), _plain(e["msg"]))))
            for e in err.errors()
        )
        raise GrowthConfigError(f"{source}: {problems}") from None


def _plain(message: str) -> str:
    # pydantic prefixes a ValueError raised by the dataclass's own checks.
    return message.removeprefix("Value error, ")


def _unknown_keys(raw: dict[str, Any], cls: type, prefix: str) -> list[str]:
    known = {f.name for f in dataclasses.fields(cls)}
    return [f"{prefix}{key}" for key in raw if key not in known]
