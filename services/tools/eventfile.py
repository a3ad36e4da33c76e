"""Reading a JSONL file of events (`vitals backtest`, `vitals replay`): one validated event a line,
with a progress bar by bytes, and invalid lines reported by number instead of stopping the read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from vitals.core.events import Event, InvalidEvent, parse_event


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based line number in the file
    raw: Any  # the decoded JSON value (None when the line is not JSON)
    event: Event | None  # the validated event, or None with ``error`` set
    error: str | None = None


def read_event_file(path: Path, *, progress: bool, desc: str = "replay") -> Iterator[Line]:
    """Every non-blank line of ``path``, decoded and validated against the event contract."""
    with (
        path.open("rb") as source,
        tqdm(
            total=path.stat().st_size, unit="B", unit_scale=True, desc=desc, disable=not progress
        ) as bar,
    ):
        for number, text in enumerate(source, start=1):
            bar.update(len(text))
            if not text.strip():
                continue
            raw = None
            try:
                raw = orjson.loads(text)
                yield Line(number, raw, parse_event(raw))
            except (orjson.JSONDecodeError, InvalidEvent) as err:
                yield Line(number, raw, None, str(err))
