from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import orjson
from click.testing import CliRunner

from vitals.cli import main
from vitals.tools.sim.generator import simulate

AS_OF = datetime(2026, 4, 1, tzinfo=UTC)


def test_simulate_writes_events_up_to_as_of_and_labels_after(tmp_path: Path) -> None:
    events, labels = tmp_path / "events.jsonl", tmp_path / "labels.csv"
    result = CliRunner().invoke(
        main,
        "simulate --customers 60 --days 150 --seed 4 --kind mixed --as-of 2026-04-01T00:00:00Z "
        f"--horizon-days 60 --out {events} --labels {labels} --quiet".split(),
    )
    assert result.exit_code == 0, result.output
    written = [orjson.loads(line) for line in events.read_bytes().splitlines()]
    assert written
    assert max(datetime.fromisoformat(e["timestamp"]) for e in written) <= AS_OF
    # The window ends at as_of + horizon, so it starts 150 - 60 days before as_of.
    sim = simulate(60, datetime(2026, 1, 1, tzinfo=UTC), 150, seed=4, kind="mixed")
    assert written == list(sim.iter_events(until=AS_OF))
    with labels.open() as source:
        rows = list(csv.DictReader(source))
    expected = sim.labels(AS_OF, 60)
    assert {r["customer_id"] for r in rows} == set(expected)
    for row in rows:
        outcome = expected[row["customer_id"]]
        assert row.get("churned", "") == str(outcome.get("churned", ""))
        assert row.get("buys_again", "") == str(outcome.get("buys_again", ""))
        assert row["kind"] in ("saas", "purchases") and row["archetype"]


def test_simulate_all_events_flag_writes_the_whole_window(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "--customers",
            "20",
            "--days",
            "60",
            "--seed",
            "2",
            "--start",
            "2026-01-01T00:00:00Z",
            "--horizon-days",
            "30",
            "--out",
            str(events),
            "--all-events",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    last = max(
        datetime.fromisoformat(orjson.loads(line)["timestamp"])
        for line in events.read_bytes().splitlines()
    )
    assert last > datetime(2026, 2, 1, tzinfo=UTC)


def test_simulate_rejects_an_as_of_outside_the_window(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "--customers",
            "5",
            "--days",
            "30",
            "--start",
            "2026-01-01T00:00:00Z",
            "--as-of",
            "2027-01-01T00:00:00Z",
            "--out",
            str(tmp_path / "e.jsonl"),
        ],
    )
    assert result.exit_code == 2
    assert "outside the window" in result.output
