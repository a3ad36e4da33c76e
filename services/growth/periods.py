"""Reporting periods over day numbers (days since 1970-01-01 UTC): month, quarter, week, N days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

EPOCH = date(1970, 1, 1)
_DAYS = re.compile(r"^days:([1-9][0-9]{0,3})$")
PERIOD_HELP = "month, quarter, week or days:N (N = 1-9999)"


@dataclass(frozen=True)
class Period:
    """A period kind; ``label(day)`` names the period containing ``day``, ``labels`` spans a range
    with every period in between (empty ones too: rates over time need the gaps)."""

    kind: str
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        if text in ("month", "quarter", "week"):
            return cls(text)
        match = _DAYS.match(text)
        if match is None:
            raise ValueError(f"period must be {PERIOD_HELP}, got {text!r}")
        return cls("days", int(match.group(1)))

    def start(self, day: int) -> int:
        moment = EPOCH + timedelta(days=day)
        if self.kind == "month":
            first = moment.replace(day=1)
        elif self.kind == "quarter":
            first = moment.replace(month=3 * ((moment.month - 1) // 3) + 1, day=1)
        elif self.kind == "week":
            first = moment - timedelta(days=moment.weekday())
        else:
            return day - day % self.days
        return (first - EPOCH).days

    def next_start(self, day: int) -> int:
        start = EPOCH + timedelta(days=self.start(day))
        if self.kind == "month":
            month = start.month % 12 + 1
            following = start.replace(year=start.year + (start.month == 12), month=month)
        elif self.kind == "quarter":
            months = start.month + 3
            following = start.replace(year=start.year + (months > 12), month=(months - 1) % 12 + 1)
        elif self.kind == "week":
            following = start + timedelta(days=7)
        else:
            return self.start(day) + self.days
        return (following - EPOCH).days

    def label(self, day: int) -> str:
        start = EPOCH + timedelta(days=self.start(day))
        if self.kind == "month":
            return start.strftime("%Y-%m")
        if self.kind == "quarter":
            return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        return start.isoformat()

    def first_day(self, label: str) -> int:
        """The first day of the period ``label`` names; ValueError if it names none of this
        kind (e.g. a month label for quarters, or a week label that is not a Monday)."""
        try:
            if self.kind == "month":
                day = day_number(f"{label}-01")
            elif self.kind == "quarter":
                year, _, quarter = label.partition("-Q")
                day = day_number(f"{year}-{3 * int(quarter) - 2:02d}-01")
            else:
                day = day_number(label)
        except ValueError:
            day = None
        if day is None or self.label(day) != label:
            raise ValueError(f"{label!r} is not a {self.name} period label")
        return day

    @property
    def name(self) -> str:
        return f"days:{self.days}" if self.kind == "days" else self.kind

    def labels(self, first_day: int, last_day: int) -> list[str]:
        out, day = [], self.start(first_day)
        while day <= last_day:
            out.append(self.label(day))
            day = self.next_start(day)
        return out


def day_number(text: str) -> int:
    """YYYY-MM-DD -> day number."""
    return (date.fromisoformat(text) - EPOCH).days


def day_text(day: int) -> str:
    return (EPOCH + timedelta(days=day)).isoformat()
