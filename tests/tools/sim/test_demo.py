from __future__ import annotations

from click.testing import CliRunner

from vitals.cli import main


def test_demo_help_lists_its_options() -> None:
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--customers", "--rate", "--no-stack", "--duration", "--no-services"):
        assert option in result.output
