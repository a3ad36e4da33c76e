from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner, Result

from vitals.cli import main


def vitals(*words: str) -> Result:
    """Run ``vitals`` with the words of ``words`` (paths without spaces: tmp_path's are)."""
    return CliRunner().invoke(main, " ".join(words).split())


def simulate(folder: Path, *options: str) -> None:
    """``vitals simulate``: 120 mixed customers over 240 days into folder/events.jsonl and
    folder/labels.csv, with ``options`` (seed, as-of, ...) added."""
    made = vitals(
        "simulate --customers 120 --days 240 --kind mixed --quiet",
        f"--out {folder / 'events.jsonl'} --labels {folder / 'labels.csv'}",
        *options,
    )
    assert made.exit_code == 0, made.output


def test_backtest_scores_a_simulated_stream_with_the_real_core_and_compares_baselines(
    tmp_path: Path,
) -> None:
    events, labels, scores = (
        tmp_path / "events.jsonl",
        tmp_path / "labels.csv",
        tmp_path / "scores.csv",
    )
    simulate(tmp_path, "--seed 6 --usage-scale 0.5 --as-of 2026-06-01T00:00:00Z --horizon-days 60")
    result = vitals(
        f"backtest {events} --as-of 2026-06-01T00:00:00Z --out {scores} --labels {labels}",
        "--horizon-days 60 --quiet",
    )
    assert result.exit_code == 0, result.output
    with scores.open() as source:
        rows = list(csv.DictReader(source))
    ids = {row["customer_id"] for row in rows}
    assert len(ids) == len(rows) > 100
    assert all(
        0 <= float(row["risk"]) <= 100 and 0 <= float(row["temperature"]) <= 100 for row in rows
    )
    assert any(name.startswith("temperature.") for name in rows[0])
    with labels.open() as source:
        assert {row["customer_id"] for row in csv.DictReader(source)} <= ids
    for expected in (
        "churned     risk",
        "baseline: days since last activity",
        "buys_again  temperature",
        "reliability: risk vs churned",
    ):
        assert expected in result.output


def test_backtest_calibrate_prints_the_fit_and_the_before_after_table(tmp_path: Path) -> None:
    events, labels, scores = (
        tmp_path / "events.jsonl",
        tmp_path / "labels.csv",
        tmp_path / "scores.csv",
    )
    common = "--as-of 2026-06-01T00:00:00Z --horizon-days 60 --quiet"
    simulate(tmp_path, "--seed 6 --usage-scale 0.5", common)
    result = vitals(f"backtest {events} --out {scores} --labels {labels} --calibrate", common)
    assert result.exit_code == 0, result.output
    assert "features at T0 = as_of - 60 d" in result.output
    assert "temperature: n=" in result.output and "risk: n=" in result.output
    for config in ("default", "calibrated"):
        assert any(
            line.startswith("churned     risk") and line.split()[2] == config
            for line in result.output.splitlines()
        ), result.output
    calibrated = tmp_path / "scores.calibrated.csv"
    with scores.open() as a, calibrated.open() as b:
        assert [r["customer_id"] for r in csv.DictReader(a)] == [
            r["customer_id"] for r in csv.DictReader(b)
        ]
