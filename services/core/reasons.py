"""Reasons: the plain-words account of what moves a score, ranked by how many points it moves.

Each scoring module produces ``Reason`` objects with the score they belong to and their impact in
score points (negative = pulls the score down); the snapshot keeps the strongest few.
"""

from __future__ import annotations

from dataclasses import dataclass

from .published import ReasonRecord

# The snapshot shows this many reasons: enough for "why", few enough to read in a chat alert.
MAX_REASONS = 5
# Below this many points a factor is not worth a sentence.
MIN_IMPACT_POINTS = 1.0


# Not frozen, like the other per-evaluation results (Temperature, Health, Risk, UsageMeasures,
# ...): a frozen dataclass's __init__ sets each field through object.__setattr__, about twice the
# cost, and a snapshot builds a few dozen of these (~7 % of the processor's CPU when frozen).
@dataclass(slots=True)
class Reason:
    code: str
    score: str  # temperature | health | risk
    text: str
    impact: float  # points on its score; negative pulls it down

    def as_dict(self) -> ReasonRecord:
        return {
            "code": self.code,
            "score": self.score,
            "text": self.text,
            "impact": round(self.impact, 1),
        }


@dataclass(slots=True)
class ScoreWithReasons:
    """A 0–100 score as scoring returns it: its band, the components it is made of, and the
    reasons it moved (Health and Risk are this; Temperature adds its model)."""

    value: float
    band: str
    components: dict[str, float]
    reasons: list[Reason]


def top(reasons: list[Reason], limit: int = MAX_REASONS) -> list[Reason]:
    """The strongest reasons first; ties ordered by code, so snapshots are deterministic."""
    kept = [r for r in reasons if abs(r.impact) >= MIN_IMPACT_POINTS]
    return sorted(kept, key=lambda r: (-abs(r.impact), r.code))[:limit]


def days_phrase(days: float) -> str:
    """'today', '1 day', '3 days', '5 weeks', '4 months' — rounded for humans."""
    if days < 1:
        return "today" if days < 0.5 else "1 day"
    if days < 14:
        n = round(days)
        return f"{n} day" if n == 1 else f"{n} days"
    if days < 60:
        return f"{round(days / 7)} weeks"
    return f"{round(days / 30.4)} months"


def ago(days: float) -> str:
    phrase = days_phrase(days)
    return phrase if phrase == "today" else f"{phrase} ago"
