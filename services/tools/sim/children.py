"""The demo's child services: start ``vitals <service>`` processes, wait until they answer, stop.

Each child is ``sys.executable -m vitals.cli <service> ...`` with the demo's settings in its
environment (``VITALS_*``), its output in ``<data_dir>/logs/<service>.log``, and its own process
group so a Ctrl-C in the terminal reaches the demo first and the demo stops children in order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from vitals.platform.settings import Settings, to_env

# A service answering its probe this long after start is healthy; past it, something is wrong
# (the scorer's first start creates its RocksDB and joins the group: a few seconds here).
HEALTH_TIMEOUT_S = 60.0
HEALTH_POLL_S = 0.25
# A child without a probe (the notifier) counts as started once it has lived this long.
NO_PROBE_GRACE_S = 2.0
# SIGTERM first (Faust commits and closes RocksDB), SIGKILL if a child ignores it this long.
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 30


class ChildFailed(RuntimeError):
    """A child exited or did not become healthy; the message holds the tail of its log."""


@dataclass
class ChildSpec:
    """One service to run: its CLI arguments and the URL that answers 200 when it is up."""

    name: str
    args: list[str]
    probe: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes]
    log_path: Path


def service_specs(settings: Settings) -> list[ChildSpec]:
    """ingest, scorer (wall clock, metrics on scorer_web_port as its probe), projector, api,
    notifier."""
    return [
        ChildSpec(
            "ingest", ["ingest"], f"http://{settings.ingest_host}:{settings.ingest_port}/healthz"
        ),
        ChildSpec(
            "scorer",
            ["scorer", "--loglevel", "warn", "--metrics-port", str(settings.scorer_web_port)],
            f"http://127.0.0.1:{settings.scorer_web_port}/metrics",
            {"VITALS_CLOCK": "wall"},
        ),
        ChildSpec("projector", ["projector"]),
        ChildSpec("api", ["api"], f"http://{settings.api_host}:{settings.api_port}/healthz"),
        # earliest: the demo's first alerts (raised while the notifier joins) reach the history too.
        ChildSpec("notifier", ["notifier", "--start-at", "earliest"]),
    ]


def start_child(spec: ChildSpec, settings: Settings) -> Child:
    """Start one service; its stdout and stderr go to ``<data_dir>/logs/<name>.log``."""
    log_dir = Path(settings.data_dir) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    env = {**os.environ, **to_env(settings), **spec.env}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "vitals.cli", *spec.args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C goes to the demo, which stops children in order
        )
    return Child(spec, process, log_path)


async def wait_healthy(child: Child, timeout: float = HEALTH_TIMEOUT_S) -> None:
    """Return when the child's probe answers 200 (or it survived the grace period without one)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            if child.process.poll() is not None:
                raise ChildFailed(
                    f"{child.spec.name} exited with {child.process.returncode}\n{log_tail(child)}"
                )
            if child.spec.probe is None:
                await asyncio.sleep(NO_PROBE_GRACE_S)
                if child.process.poll() is None:
                    return
                continue
            try:
                if (await client.get(child.spec.probe)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ChildFailed(
                    f"{child.spec.name} did not answer {child.spec.probe} within {timeout:.0f} s"
                    f"\n{log_tail(child)}"
                )
            await asyncio.sleep(HEALTH_POLL_S)


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM every child (last started first), then SIGKILL those alive after ``timeout`` s."""
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in reversed(children):
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def log_tail(child: Child, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = child.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {child.log_path})"
    return f"---- last lines of {child.log_path}\n" + "\n".join(text[-lines:])
