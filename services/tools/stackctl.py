"""``vitals stack``: drive the local Kafka + Redis stack (deploy/stack.sh) from Python settings.

The shell script does the process work (fetch Kafka, start, wait, stop); this module gives it the
ports and data dir of a ``Settings`` (the same ``VITALS_*`` variables every service reads) and,
after ``up``, creates the topics (the broker does not auto-create them, see vitals.platform.topics).

Python API, used by the test fixtures::

    stack_up(settings)      # idempotent; raises StackError with the script's output and log paths
    stack_down(settings)
    stack_running(settings) # both processes up and answering
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

import vitals
from vitals.platform.settings import Settings
from vitals.platform.topics import ensure_topics

T = TypeVar("T")

STACK_SCRIPT = Path("deploy") / "stack.sh"


class StackError(RuntimeError):
    """The local stack could not be started or stopped; the message carries the script's output."""


def repo_root() -> Path:
    """The checkout the ``vitals`` package is installed from (editable: services/ -> repo)."""
    root = Path(vitals.__file__).resolve().parent.parent
    if not (root / STACK_SCRIPT).is_file():
        raise StackError(
            f"{STACK_SCRIPT} not found under {root}: the local stack needs a source checkout "
            "installed editable (pip install -e .). With Docker, use docker-compose.yml instead."
        )
    return root


def stack_env(settings: Settings) -> dict[str, str]:
    """The environment for deploy/stack.sh: this process's, with the stack's ports and data dir
    from ``settings`` and this interpreter for the Kafka metadata check."""
    env = dict(os.environ)
    env.update(
        VITALS_KAFKA_PORT=str(settings.kafka_port),
        VITALS_KAFKA_CONTROLLER_PORT=str(settings.kafka_controller_port),
        VITALS_REDIS_PORT=str(settings.redis_port),
        # Absolute, so the script and the services agree whatever directory each runs in.
        VITALS_DATA_DIR=str(settings.data_dir.resolve()),
        VITALS_PYTHON=sys.executable,
    )
    return env


def run_stack_script(
    command: list[str], settings: Settings, *, capture: bool
) -> subprocess.CompletedProcess[str]:
    """Run ``deploy/stack.sh <command>``; with ``capture`` its output is returned, not shown."""
    return subprocess.run(
        ["bash", str(repo_root() / STACK_SCRIPT), *command],
        env=stack_env(settings),
        stdin=subprocess.DEVNULL,
        capture_output=capture,
        text=True,
        check=False,
    )


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return f"{done.stdout or ''}{done.stderr or ''}"


def local_settings(settings: Settings) -> Settings:
    """``settings`` pointed at the local stack's Kafka, whatever VITALS_KAFKA_BOOTSTRAP says."""
    return settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{settings.kafka_port}"})


def run_blocking(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when the calling thread already runs an
    event loop (a sync pytest fixture under pytest-asyncio): it gets its own loop in a thread,
    and the caller's loop is left alone."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make_coro()))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="vitals-run-blocking")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def stack_up(settings: Settings, *, create_topics: bool = True, quiet: bool = True) -> None:
    """Start Kafka and Redis for ``settings`` (idempotent) and, with ``create_topics``, create
    the topics of ``settings``. Blocks until both answer (deploy/stack.sh's timeout, 90 s).

    Raises ``StackError`` naming the logs when something does not come up."""
    done = run_stack_script(["up"], settings, capture=quiet)
    if done.returncode != 0:
        data = settings.data_dir.resolve()
        raise StackError(
            f"deploy/stack.sh up failed (exit {done.returncode}).\n{_output(done)}"
            f"Logs: {data}/kafka/logs/server.log, {data}/kafka/kafka.out, {data}/redis/redis.log"
        )
    if create_topics:
        local = local_settings(settings)
        run_blocking(lambda: ensure_topics(local))


def stack_down(settings: Settings, *, quiet: bool = True) -> None:
    """Stop Kafka and Redis for ``settings`` (SIGTERM, SIGKILL after 20 s). Data is kept."""
    done = run_stack_script(["down"], settings, capture=quiet)
    if done.returncode != 0:
        raise StackError(f"deploy/stack.sh down failed (exit {done.returncode}).\n{_output(done)}")


def stack_running(settings: Settings) -> bool:
    """True when both Kafka and Redis of ``settings`` run and answer."""
    return run_stack_script(["status"], settings, capture=True).returncode == 0


# ---- the `vitals stack` command --------------------------------------------------------------


@click.group(name="stack")
def stack() -> None:
    """Start, stop and inspect the local Kafka + Redis stack (deploy/stack.sh).

    Ports and the data dir come from VITALS_KAFKA_PORT, VITALS_KAFKA_CONTROLLER_PORT,
    VITALS_REDIS_PORT and VITALS_DATA_DIR (defaults 19092, 19093, 16379, .vitals)."""


@stack.command()
@click.option("--no-topics", is_flag=True, help="Do not create the Vitals topics.")
def up(no_topics: bool) -> None:
    """Start Kafka and Redis (if not running), wait until ready, create the topics."""
    settings = Settings()
    try:
        stack_up(settings, create_topics=not no_topics, quiet=False)
    except Exception as exc:
        raise click.ClickException(str(exc)) from exc
    if not no_topics:
        click.echo(f"topics ready on 127.0.0.1:{settings.kafka_port}")


@stack.command()
def down() -> None:
    """Stop Kafka and Redis (data is kept)."""
    try:
        stack_down(Settings(), quiet=False)
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc


@stack.command()
def status() -> None:
    """Show both services; exit 0 when both run and answer, 3 otherwise."""
    sys.exit(run_stack_script(["status"], Settings(), capture=False).returncode)


@stack.command()
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
def logs(follow: bool) -> None:
    """Show the last lines of the Kafka and Redis logs (and where they are)."""
    command = ["logs", "-f"] if follow else ["logs"]
    sys.exit(run_stack_script(command, Settings(), capture=False).returncode)


@stack.command()
@click.confirmation_option(prompt="Delete all local Kafka topics and Redis data?")
def purge() -> None:
    """Stop the stack and delete its Kafka and Redis data."""
    sys.exit(run_stack_script(["purge"], Settings(), capture=False).returncode)
