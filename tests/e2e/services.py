"""Run Vitals services as real child processes for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from vitals.platform.settings import Settings, to_env

# Faust needs a few seconds to join the group and recover its table; uvicorn starts in ~1 s.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_api_port(settings: Settings, **update: Any) -> tuple[Settings, str]:
    """``settings`` (with ``update``) serving the API on a free port, alert links pointing at it;
    and the API's base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return settings.model_copy(update={**update, "api_port": port, "public_url": url}), url


@contextlib.contextmanager
def running(
    name: str,
    args: list[str],
    settings: Settings,
    logs: Path,
    health_url: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    python: list[str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``vitals <args>`` with ``settings`` (and ``env``) in its environment; stop it
    (SIGTERM) on exit. ``python``: run ``python <python...>`` instead of the ``vitals`` CLI."""
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    full_env = os.environ | to_env(settings) | dict(env or {})
    command = [sys.executable, *python] if python else [sys.executable, "-m", "vitals.cli", *args]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        if health_url:
            wait_http(health_url, proc, log_path)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def kill9(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL: the process gets no chance to flush, commit or leave its consumer group."""
    proc.kill()
    proc.wait()


def wait_http(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}; see {log_path}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {START_TIMEOUT_S} s; see {log_path}")


async def await_for(
    predicate, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"
):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` (a plain or an async callable) until it returns a truthy value; return
    it. The one wait-for helper of the test suite."""
    import asyncio
    import inspect

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
