"""Debian's chromium for the browser tests, installed with apt-get when missing (as root, like
deploy/stack.sh installs redis-server). Playwright cannot download its own browser build here,
so it drives this one through ``executable_path``."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Concurrent test sessions (several worktrees on one machine) must not run apt-get together.
INSTALL_LOCK = Path("/tmp/vitals-chromium-install.lock")
INSTALL_TIMEOUT_S = 600


class ChromiumMissing(RuntimeError):
    pass


def ensure_chromium() -> Path:
    """The chromium binary; apt-get installs it first when missing and this runs as root."""
    if CHROMIUM.is_file():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ChromiumMissing(
            f"{CHROMIUM} not found: install Debian's chromium "
            "(sudo apt-get update && sudo apt-get install -y chromium) to run the browser tests"
        )
    with INSTALL_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CHROMIUM.is_file():
            env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
            for command in (
                ["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "chromium"],
            ):
                done = subprocess.run(
                    command,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=INSTALL_TIMEOUT_S,
                    check=False,
                )
                if done.returncode != 0:
                    raise ChromiumMissing(
                        f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}"
                    )
    if not CHROMIUM.is_file():
        raise ChromiumMissing(f"apt-get install chromium did not provide {CHROMIUM}")
    return CHROMIUM
