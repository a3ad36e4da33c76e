"""The tenant's growth configuration file: the shipped example loads and says the defaults; a
broken file is refused with the key and the problem named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vitals.growth.config import DEFAULT_GROWTH, ExperimentSpec
from vitals.growth.config_file import GrowthConfigError, load_growth_config

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "growth.example.toml"


def test_the_shipped_example_is_exactly_the_defaults() -> None:
    assert load_growth_config(EXAMPLE) == DEFAULT_GROWTH


def test_unset_means_the_defaults() -> None:
    assert load_growth_config(None) is DEFAULT_GROWTH


def test_a_file_overrides_what_it_names_and_registers_its_experiments(tmp_path: Path) -> None:
    path = tmp_path / "growth.toml"
    path.write_text(
        'mql_threshold = 15\nactivation_event = "onboarding.done"\n'
        '[experiments.trial-length]\ngoal = "revenue"\nhorizon_days = 14\n'
    )
    config = load_growth_config(path)
    assert config.mql_threshold == 15.0 and config.activation_event == "onboarding.done"
    assert config.experiments == {"trial-length": ExperimentSpec(goal="revenue", horizon_days=14.0)}
    assert config.price_threshold == DEFAULT_GROWTH.price_threshold


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("mql_treshold = 12", "unknown key(s) mql_treshold"),
        ('[experiments.x]\ngoal = "revenue"\nhorizon = 3', "unknown key(s) experiments.x.horizon"),
        ('[experiments.x]\ngoal = "clicks"', "experiments.x.goal: Input should be 'converted'"),
        ("[experiments.x]\nhorizon_days = 0", "horizon_days must be > 0"),
        ("alpha = 1.5", "alpha must be in (0, 1)"),
        ('mql_threshold = "ten"', "mql_threshold: Input should be a valid number"),
        ("mql_threshold = ", "not valid TOML"),
    ],
)
def test_a_broken_file_is_refused_with_the_key_named(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "growth.toml"
    path.write_text(text)
    with pytest.raises(GrowthConfigError) as refused:
        load_growth_config(path)
    assert said in str(refused.value) and str(path) in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GrowthConfigError, match="cannot read it"):
        load_growth_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("command", ["growth", "api"])
def test_the_growth_worker_and_the_api_stop_at_start_up_on_a_broken_file(
    tmp_path: Path, command: str
) -> None:
    path = tmp_path / "growth.toml"
    path.write_text("alpha = 1.5")
    env = {**os.environ, "VITALS_GROWTH_CONFIG": str(path)}
    done = subprocess.run(
        [sys.executable, "-m", "vitals.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"Error: growth config {path}: alpha must be in (0, 1)" in done.stderr
