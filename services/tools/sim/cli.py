"""``vitals simulate``: write a synthetic event stream (JSONL) and its outcome labels (CSV).

The stream covers [start, start + days). By default only events with event time <= as_of go to
the file (what a model could have seen), and the labels say what happened in
(as_of, as_of + horizon]: the pair a backtest needs.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import orjson
from tqdm import tqdm

from vitals.tools.moments import parse_moment
from vitals.tools.options import horizon_days_option, path_option
from vitals.tools.sim.generator import Kind, Simulation
from vitals.tools.sim.generator import simulate as run_simulation

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
LABEL_COLUMNS = ("customer_id", "kind", "archetype", "churned", "buys_again")


def write_events(path: Path, sim: Simulation, until: datetime | None, progress: bool = True) -> int:
    """Write events (event time <= until, or all) as JSON lines; returns how many."""
    count = 0
    with (
        path.open("wb") as out,
        tqdm(total=sim.count_events(until), unit="ev", disable=not progress, desc="events") as bar,
    ):
        for event in sim.iter_events(until=until):
            out.write(orjson.dumps(event) + b"\n")
            count += 1
            if count % 10_000 == 0:
                bar.update(10_000)
        bar.update(count % 10_000)
    return count


def write_labels(path: Path, sim: Simulation, as_of: datetime, horizon_days: float) -> int:
    """Write one row per customer with a label at as_of; returns how many."""
    labels = sim.labels(as_of, horizon_days)
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=LABEL_COLUMNS)
        writer.writeheader()
        for cid, outcome in labels.items():
            truth = sim.truth[cid]
            writer.writerow(
                {"customer_id": cid, "kind": truth.kind, "archetype": truth.archetype, **outcome}
            )
    return len(labels)


@click.command("simulate")
@click.option(
    "--customers", "n_customers", type=click.IntRange(min=0), default=1000, show_default=True
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=365,
    show_default=True,
    help="Length of the window.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--kind", type=click.Choice(["saas", "purchases", "mixed"]), default="mixed", show_default=True
)
@click.option(
    "--start",
    "start_text",
    help="Window start (ISO). Default: as_of + horizon - days, or 2026-01-01.",
)
@click.option("--as-of", "as_of_text", help="Cut-off (ISO). Default: window end - horizon.")
@horizon_days_option()
@path_option("--out", "Events JSONL file.", required=True)
@path_option("--labels", "Labels CSV file.")
@click.option(
    "--all-events", is_flag=True, help="Write the whole window, not only events up to as_of."
)
@click.option(
    "--duplicate-rate", type=click.FloatRange(0, 1, max_open=True), default=0.002, show_default=True
)
@click.option(
    "--out-of-order-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.01,
    show_default=True,
)
@click.option(
    "--usage-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiplier on SaaS usage volume.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def simulate(
    n_customers: int,
    days: int,
    seed: int,
    kind: Kind,
    start_text: str | None,
    as_of_text: str | None,
    horizon_days: float,
    out: Path,
    labels_path: Path | None,
    all_events: bool,
    duplicate_rate: float,
    out_of_order_rate: float,
    usage_scale: float,
    quiet: bool,
) -> None:
    """Write a synthetic event stream (JSONL) and, with --labels, what happened after --as-of."""
    horizon = timedelta(days=horizon_days)
    if start_text:
        start = parse_moment(start_text)
    elif as_of_text:
        start = parse_moment(as_of_text) + horizon - timedelta(days=days)
    else:
        start = DEFAULT_START
    end = start + timedelta(days=days)
    as_of = parse_moment(as_of_text) if as_of_text else end - horizon
    if not start <= as_of <= end:
        raise click.BadParameter(
            f"as_of {as_of.isoformat()} is outside the window "
            f"{start.isoformat()} .. {end.isoformat()}"
        )
    if labels_path is not None and as_of + horizon > end:
        click.echo(
            f"warning: the horizon ends after the window ({end.isoformat()}): late churn is unseen",
            err=True,
        )
    sim = run_simulation(
        n_customers,
        start,
        days,
        seed,
        kind,
        duplicate_rate=duplicate_rate,
        out_of_order_rate=out_of_order_rate,
        usage_scale=usage_scale,
    )
    written = write_events(out, sim, None if all_events else as_of, progress=not quiet)
    click.echo(
        f"{written} events ({start.isoformat()} .. "
        f"{(end if all_events else as_of).isoformat()}) -> {out}"
    )
    if labels_path is not None:
        labelled = write_labels(labels_path, sim, as_of, horizon_days)
        click.echo(
            f"{labelled} labels (as of {as_of.isoformat()}, horizon {horizon_days:g} days) "
            f"-> {labels_path}"
        )
