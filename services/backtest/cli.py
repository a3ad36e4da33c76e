"""``vitals backtest``: replay a JSONL file offline, score everyone as of T, compare outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from vitals.backtest.evaluation import evaluate, format_report
from vitals.backtest.runner import read_labels, run_backtest, write_scores


def _moment(value: str) -> float:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date-time, e.g. 2026-10-01T00:00:00Z"
        ) from None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


@click.command("backtest")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as-of",
    "as_of_text",
    required=True,
    help="Score as of this moment (ISO); later events are ignored.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Scores CSV to write.",
)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Outcomes CSV (from `vitals simulate --labels`): prints AUC, lift and calibration.",
)
@click.option(
    "--horizon-days",
    type=click.FloatRange(min=0),
    default=90.0,
    show_default=True,
    help="The horizon the labels were made for (shown in the report).",
)
@click.option(
    "--no-refit",
    is_flag=True,
    help="Score with the prior parameters instead of refitting at as_of.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def backtest(
    events: Path,
    as_of_text: str,
    out: Path,
    labels_path: Path | None,
    horizon_days: float,
    no_refit: bool,
    quiet: bool,
) -> None:
    """Replay EVENTS (JSONL, event time <= --as-of) through the scoring core and write SCORES."""
    as_of_ts = _moment(as_of_text)
    run = run_backtest(events, as_of_ts, refit=not no_refit, progress=not quiet)
    write_scores(out, run.rows)
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
    if labels_path is not None:
        evaluation = evaluate(run.rows, run.baselines, read_labels(labels_path))
        click.echo(f"\nhorizon {horizon_days:g} days; higher = more likely for every predictor\n")
        click.echo(format_report(evaluation))
