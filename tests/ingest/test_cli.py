"""`vitals ingest`: wired into the main command; logs are JSON lines."""

from __future__ import annotations

import json
import logging

from click.testing import CliRunner

from vitals.cli import main
from vitals.platform.logs import JsonFormatter


def test_vitals_ingest_help_lists_its_options() -> None:
    result = CliRunner().invoke(main, ["ingest", "--help"])
    assert result.exit_code == 0, result.output
    assert "--port" in result.output and "--host" in result.output


def test_json_formatter_writes_one_object_with_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "vitals.ingest",
            "levelname": "WARNING",
            "msg": "batch not written %s",
            "args": ("now",),
            "reason": "timeout",
        }
    )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "batch not written now"
    assert entry["level"] == "warning"
    assert entry["reason"] == "timeout"
    assert "\n" not in line
