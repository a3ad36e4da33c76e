from __future__ import annotations

import pytest

from vitals.tools.backtest.baselines import BaselineAccumulator

AS_OF = 1_800_000_000.0
DAY = 86_400.0


def test_days_since_last_activity_uses_the_latest_event_of_any_type_in_any_order() -> None:
    acc = BaselineAccumulator(AS_OF)
    acc.add("a", "usage", AS_OF - 10 * DAY)
    acc.add("a", "support", AS_OF - 2.5 * DAY)
    acc.add("a", "usage", AS_OF - 5 * DAY)  # arrives late: does not move the latest back
    acc.add("b", "purchase", AS_OF - 40 * DAY)
    result = acc.result()
    assert result["a"]["days_since_last_activity"] == pytest.approx(2.5)
    assert result["b"]["days_since_last_activity"] == pytest.approx(40)


def test_usage_14d_counts_only_usage_inside_the_window() -> None:
    acc = BaselineAccumulator(AS_OF)
    for days_ago in (0, 1, 13.9, 14.0, 20):
        acc.add("a", "usage", AS_OF - days_ago * DAY)
    acc.add("a", "purchase", AS_OF - 1 * DAY)
    assert acc.result()["a"]["usage_14d"] == 3  # 14.0 days ago is outside (as_of − 14 d, as_of]
    acc.add("b", "purchase", AS_OF - DAY)
    assert acc.result()["b"]["usage_14d"] == 0


def test_events_after_as_of_are_ignored() -> None:
    acc = BaselineAccumulator(AS_OF)
    acc.add("a", "usage", AS_OF - 3 * DAY)
    acc.add("a", "usage", AS_OF + 1)
    acc.add("late-joiner", "usage", AS_OF + DAY)
    result = acc.result()
    assert result["a"] == {"days_since_last_activity": pytest.approx(3), "usage_14d": 1}
    assert "late-joiner" not in result
