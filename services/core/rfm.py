"""RFM value segments: Recency, Frequency, Monetary quintiles over the live population.

R is scored so that 5 = bought most recently (fewest days since the last transaction): widely
copied code ranks raw recency days ascending and so gives the *longest-lapsed* customers R = 5.
The 8 segments split each score into high/low by the configured rule:

    R↑F↑M↑ important_value     R↓F↑M↑ important_retain
    R↑F↓M↑ important_develop   R↓F↓M↑ important_win_back
    M↓ gives the general_* versions of the same four.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .config import RfmConfig
from .decay import SECONDS_PER_DAY
from .norms import Norms, quintile
from .state import CustomerState

SEGMENTS = {
    (True, True): "value",
    (False, True): "retain",
    (True, False): "develop",
    (False, False): "win_back",
}


@dataclass(slots=True)
class Rfm:
    r: int
    f: int
    m: int
    segment: str
    recency_days: float
    frequency: int
    monetary: float

    def as_dict(self) -> dict[str, object]:
        return {
            "r": self.r,
            "f": self.f,
            "m": self.m,
            "segment": self.segment,
            "recency_days": round(self.recency_days, 3),
            "frequency": self.frequency,
            "monetary": round(self.monetary, 2),
        }


def scores(
    recency_days: float,
    frequency: int,
    monetary: float,
    recency_edges: Sequence[float],
    frequency_edges: Sequence[float],
    monetary_edges: Sequence[float],
) -> tuple[int, int, int]:
    # Recency: more days = worse, so the quintile is mirrored (6 − q): R = 5 is the most recent.
    r = 6 - quintile(recency_days, recency_edges)
    return r, quintile(frequency, frequency_edges), quintile(monetary, monetary_edges)


def segment_of(r: int, f: int, m: int, norms: Norms, config: RfmConfig) -> str:
    if config.split_rule == "score_gte_3":
        high = (r >= 3, f >= 3, m >= 3)
    else:
        mean_r, mean_f, mean_m = norms.mean_scores
        high = (r > mean_r, f > mean_f, m > mean_m)
    tier = "important" if high[2] else "general"
    return f"{tier}_{SEGMENTS[(high[0], high[1])]}"


def evaluate(state: CustomerState, now: float, norms: Norms, config: RfmConfig) -> Rfm | None:
    """RFM of a customer with a transaction (None otherwise); M = mean transaction value."""
    if state.txn_count == 0:
        return None
    recency_days = max(0.0, now - state.txn_last_ts) / SECONDS_PER_DAY
    monetary = state.txn_spend / state.txn_count
    r, f, m = scores(
        recency_days,
        state.txn_count,
        monetary,
        norms.recency_days_edges,
        norms.frequency_edges,
        norms.monetary_edges,
    )
    return Rfm(r, f, m, segment_of(r, f, m, norms, config), recency_days, state.txn_count, monetary)
