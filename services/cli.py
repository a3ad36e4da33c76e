"""The ``vitals`` command: one entry point for the services, the local stack and offline tools.

Subcommands live next to the code they drive and are imported only when used, so ``vitals --help``
starts fast and a broken optional module never stops the others.
"""

from __future__ import annotations

import importlib

import click

# name -> (module, attribute, one-line help shown by `vitals --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "stack": (
        "vitals.tools.stackctl",
        "stack",
        "Start, stop and inspect the local Kafka + Redis stack.",
    ),
    "ingest": ("vitals.ingest.cli", "ingest", "Run the HTTP ingest service (POST /v1/batch)."),
    "scorer": (
        "vitals.scorer.cli",
        "scorer",
        "Run the Faust scorer worker (scores, alerts, timers).",
    ),
    "projector": (
        "vitals.projector.projector",
        "projector",
        "Project `scores` into Redis (run one or more).",
    ),
    "api": ("vitals.api.cli", "api", "Run the read API and dashboard."),
    "notifier": ("vitals.notifier.cli", "notifier", "Run the alert notifier (chat webhooks)."),
    "demo": (
        "vitals.tools.sim.demo",
        "demo",
        "Bring up the whole stack and stream a simulated demo.",
    ),
    "simulate": (
        "vitals.tools.sim.cli",
        "simulate",
        "Write a synthetic event stream (JSONL) with labels.",
    ),
    "backtest": (
        "vitals.tools.backtest.cli",
        "backtest",
        "Replay a JSONL file offline and score it as of T.",
    ),
    "replay": ("vitals.tools.sim.replay", "replay", "Send a JSONL event file to Kafka (backfill)."),
    "rebuild-redis": ("vitals.projector.cli", "rebuild_redis", "Rebuild Redis from `scores`."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="vitals")
def main() -> None:
    """Vitals: customer temperature, health and churn risk, scored per event on Kafka."""


if __name__ == "__main__":
    main()
