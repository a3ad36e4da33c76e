from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from vitals.cli import main


def test_backtest_scores_a_simulated_stream_with_the_real_core_and_compares_baselines(
    tmp_path: Path,
) -> None:
    events, labels, scores = (
        tmp_path / "events.jsonl",
        tmp_path / "labels.csv",
        tmp_path / "scores.csv",
    )
    runner = CliRunner()
    made = runner.invoke(
        main,
        [
            "simulate",
            "--customers",
            "120",
            "--days",
            "240",
            "--seed",
            "6",
            "--kind",
            "mixed",
            "--as-of",
            "2026-06-01T00:00:00Z",
            "--horizon-days",
            "60",
            "--out",
            str(events),
            "--labels",
            str(labels),
            "--quiet",
            "--usage-scale",
            "0.5",
        ],
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(
        main,
        [
            "backtest",
            str(events),
            "--as-of",
            "2026-06-01T00:00:00Z",
            "--out",
            str(scores),
            "--labels",
            str(labels),
            "--horizon-days",
            "60",
            "--quiet",
        ],
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
    runner = CliRunner()
    common = ["--as-of", "2026-06-01T00:00:00Z", "--horizon-days", "60", "--quiet"]
    made = runner.invoke(
        main,
        [
            "simulate",
            "--customers",
            "120",
            "--days",
            "240",
            "--seed",
            "6",
            "--usage-scale",
            "0.5",
            "--out",
            str(events),
            "--labels",
            str(labels),
            *common,
        ],
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke(
        main,
        [
            "backtest",
            str(events),
            "--out",
            str(scores),
            "--labels",
            str(labels),
            "--calibrate",
            *common,
        ],
    )
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
