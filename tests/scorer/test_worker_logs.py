"""The Faust workers (`vitals scorer`, `vitals growth`) write JSON lines through
vitals.platform.logs, Faust's and aiokafka's own records included: no second format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e.services import await_for, running

from vitals.platform.settings import Settings

START_TIMEOUT_S = 120.0


def _entries(log: Path) -> list[dict[str, Any]]:
    """Every line of ``log`` as JSON (json.loads raises on a line that is not)."""
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


@pytest.mark.integration
@pytest.mark.parametrize("command", ["scorer", "growth"])
async def test_every_line_a_worker_logs_is_a_json_object(
    settings: Settings, tmp_path: Path, command: str
) -> None:
    log = tmp_path / f"{command}.log"

    def ready() -> bool:
        # Faust's worker has started (its line, read as text: the last line may be half written).
        return log.exists() and '"logger": "faust.worker", "message": "[^Worker]: Ready"' in (
            log.read_text()
        )

    with running(command, [command, "--loglevel", "info"], settings, tmp_path):
        await await_for(ready, timeout=START_TIMEOUT_S, what=f"{command} worker ready")
    entries = _entries(log)  # up to the last line of its shutdown
    assert all(
        isinstance(e, dict) and {"time", "level", "logger", "message"} <= e.keys() for e in entries
    )
    loggers = {e["logger"].split(".", 1)[0] for e in entries}
    # Faust's records and ours, all in the one format.
    assert {"faust", "vitals"} <= loggers
    assert any(e["message"].startswith(f"vitals {command}:") for e in entries)
