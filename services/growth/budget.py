"""Spend per period, for cost per SQL: one amount for every period, or amounts per period.

``Budget.parse("5000", period)``: every period spent 5,000. ``"2026-10:5000,2026-11:6500"``:
those periods only (others have no cost per SQL). ``"4000,2026-12:9000"``: 4,000 a period,
December 9,000. Labels are the period kind's own (``2026-10``, ``2026-Q4``, a week's Monday).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .periods import Period

BUDGET_HELP = (
    "spend per period, for cost per SQL: an amount for every period (5000), or per period "
    "(2026-10:5000,2026-11:6500), or both (4000,2026-12:9000)"
)


@dataclass(frozen=True)
class Budget:
    every: float | None = None
    by_period: Mapping[str, float] = field(default_factory=dict)

    def of(self, label: str) -> float | None:
        return self.by_period.get(label, self.every)

    @classmethod
    def parse(cls, text: str, period: Period) -> Budget:
        """ValueError, saying what is wrong, for anything but the forms above."""
        every: float | None = None
        by_period: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",")):
            label, _, amount_text = part.rpartition(":")
            amount = _amount(amount_text)
            if not label:
                if every is not None:
                    raise ValueError("budget has two amounts for every period")
                every = amount
                continue
            period.first_day(label)  # raises for a label of another kind
            if label in by_period:
                raise ValueError(f"budget names {label} twice")
            by_period[label] = amount
        return cls(every, by_period)


def _amount(text: str) -> float:
    try:
        amount = float(text)
    except ValueError:
        raise ValueError(f"budget amount must be a number, got {text!r}") from None
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"budget amount must be a finite number >= 0, got {text!r}")
    return amount
