"""A local three-master Redis Cluster for tests (and benchmarks), from Debian's redis-server.

``local_cluster(base_dir)`` starts three ``redis-server --cluster-enabled yes`` on free loopback
ports, data under ``base_dir/redis-cluster-<pid>``, joins them with ``redis-cli --cluster create``
(no replicas), waits until every node says ``cluster_state:ok`` and yields the node ports. On exit
the nodes are shut down (SHUTDOWN NOSAVE, then SIGKILL of the pids it started) and the directory
removed. redis-server is the one the project's stack installs (deploy/stack.sh): the ``stack``
fixture runs first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

MASTERS = 3
START_TIMEOUT_S = 30.0


def _free_port() -> int:
    # Cluster nodes also listen on port + 10000 (the bus): pick ports whose bus port is free too.
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30
    ).stdout


def _wait(predicate: object, what: str, log_dir: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise RuntimeError(f"Redis Cluster: {what} not reached in {START_TIMEOUT_S} s; see {log_dir}")


@contextlib.contextmanager
def local_cluster(base_dir: Path) -> Iterator[list[int]]:
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found: install redis-server (deploy/stack.sh does)")
    root = base_dir / f"redis-cluster-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    ports = [_free_port() for _ in range(MASTERS)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node_dir = root / str(port)
            node_dir.mkdir()
            with open(node_dir / "redis.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        [
                            "redis-server",
                            "--port",
                            str(port),
                            "--bind",
                            "127.0.0.1",
                            "--cluster-enabled",
                            "yes",
                            "--cluster-config-file",
                            str(node_dir / "nodes.conf"),
                            "--dir",
                            str(node_dir),
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        for port in ports:
            _wait(lambda p=port: "PONG" in _cli(p, "ping"), f"node {port} answering", root)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        for port in ports:
            _wait(
                lambda p=port: "cluster_state:ok" in _cli(p, "cluster", "info"),
                f"cluster_state:ok on {port}",
                root,
            )
        yield ports
    finally:
        for port in ports:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                _cli(port, "shutdown", "nosave")
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)
