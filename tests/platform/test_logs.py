"""Every process's logging: JSON lines, and aiokafka's self-retried errors logged as warnings."""

from __future__ import annotations

import json
import logging

import pytest

from vitals.platform.logs import configure_logging


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_a_coordinator_not_yet_elected_is_a_warning_and_a_real_error_stays_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("info")
    try:
        coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
        coordinator.error(
            "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError"
        )
        coordinator.error("Unexpected error in heartbeat routine")
        logging.getLogger("vitals.projector").error("GroupCoordinatorNotAvailableError seen")
        lines = _lines(capsys.readouterr().err)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("aiokafka.consumer.group_coordinator", "warning"),
        ("aiokafka.consumer.group_coordinator", "error"),
        ("vitals.projector", "error"),  # ours: never lowered
    ]
