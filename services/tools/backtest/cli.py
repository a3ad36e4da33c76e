"""``vitals backtest``: replay a JSONL file offline, score everyone as of T, compare outcomes."""

from __future__ import annotations

from pathlib import Path

import click

from vitals.tools.backtest.evaluation import evaluate, format_comparison, format_report
from vitals.tools.backtest.runner import (
    BacktestRun,
    read_labels,
    run_backtest,
    run_calibrated_backtest,
    write_scores,
)
from vitals.tools.moments import parse_moment
from vitals.tools.options import horizon_days_option, path_option


@click.command("backtest")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as-of",
    "as_of_text",
    required=True,
    help="Score as of this moment (ISO); later events are ignored.",
)
@path_option("--out", "Scores CSV to write.", required=True)
@path_option(
    "--labels",
    "Outcomes CSV (from `vitals simulate --labels`): prints AUC, lift and calibration.",
    exists=True,
)
@horizon_days_option("The horizon the labels were made for (shown in the report).")
@click.option(
    "--no-refit",
    is_flag=True,
    help="Score with the prior parameters instead of refitting at as_of.",
)
@click.option(
    "--calibrate",
    is_flag=True,
    help="Also refit temperature's adjustments and risk's weights on outcomes the stream showed "
    "in (as_of - horizon, as_of], score with that config too (scores to <out>.calibrated.csv) "
    "and, with --labels, print the before/after table.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def backtest(
    events: Path,
    as_of_text: str,
    out: Path,
    labels_path: Path | None,
    horizon_days: float,
    no_refit: bool,
    calibrate: bool,
    quiet: bool,
) -> None:
    """Replay EVENTS (JSONL, event time <= --as-of) through the scoring core and write SCORES."""
    as_of_ts = parse_moment(as_of_text).timestamp()
    if calibrate:
        _calibrated(events, as_of_ts, as_of_text, out, labels_path, horizon_days, no_refit, quiet)
        return
    run = run_backtest(events, as_of_ts, refit=not no_refit, progress=not quiet)
    write_scores(out, run.rows)
    _summary(run, as_of_text, out)
    if labels_path is not None:
        evaluation = evaluate(run.rows, run.baselines, read_labels(labels_path))
        click.echo(f"\nhorizon {horizon_days:g} days; higher = more likely for every predictor\n")
        click.echo(format_report(evaluation))


def _summary(run: BacktestRun, as_of_text: str, out: Path) -> None:
    applied = run.statuses.get("applied", 0)
    details = ", ".join(
        f"{count} {status}" for status, count in sorted(run.statuses.items()) if status != "applied"
    )
    click.echo(
        f"{applied} events applied ({details or 'nothing else'}); "
        f"params {run.params_version or 'prior'}"
    )
    for number, reason in run.invalid:
        click.echo(f"  line {number}: {reason}", err=True)
    click.echo(f"{len(run.rows)} customers scored as of {as_of_text} -> {out}")


def _calibrated(
    events: Path,
    as_of_ts: float,
    as_of_text: str,
    out: Path,
    labels_path: Path | None,
    horizon_days: float,
    no_refit: bool,
    quiet: bool,
) -> None:
    try:
        result = run_calibrated_backtest(
            events, as_of_ts, horizon_days, refit=not no_refit, progress=not quiet
        )
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    write_scores(out, result.run.rows)
    calibrated_out = out.with_name(f"{out.stem}.calibrated{out.suffix or '.csv'}")
    write_scores(calibrated_out, result.variants["calibrated"])
    _summary(result.run, as_of_text, out)
    click.echo(f"calibrated scores -> {calibrated_out}\n")
    click.echo(result.calibration.describe())
    if labels_path is not None:
        labels = read_labels(labels_path)
        evaluations = {"default": evaluate(result.run.rows, result.run.baselines, labels)}
        for name, rows in result.variants.items():
            evaluations[name] = evaluate(rows, result.run.baselines, labels)
        click.echo(
            f"\nhorizon {horizon_days:g} days; default vs calibrated on the labelled outcomes "
            "after as_of (never seen by the fit)\n"
        )
        click.echo(format_comparison(evaluations))
