"""One simulated SaaS account: its archetype, subscription story, usage, tickets and feedback.

Churn is meant to be *predictable but noisy*, like real accounts:
- most cancellations are preceded by weeks of falling usage (a warning lead of 3-9 weeks) or by
  payment trouble, but some come out of the blue (no warning), and some declining accounts never
  cancel;
- support tickets and NPS/CSAT follow the account's distress only loosely (Gaussian noise, and
  accounts that stopped using the product rarely answer surveys).

Days are indexes from the simulation start; event times are whole Unix seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from vitals.tools.sim.columns import FEATURES, SECONDS_PER_DAY, CustomerRows

ARCHETYPES: tuple[str, ...] = (
    "growing",
    "stable",
    "declining",
    "ghost",  # stops using while paying: usage fades, renewals continue, then a cancellation
    "late_payer",
    "canceller",
    "reactivated",
)
# Mix of archetypes: most accounts are fine, about a third carry some churn signal.
ARCHETYPE_WEIGHTS = (0.18, 0.27, 0.14, 0.10, 0.10, 0.13, 0.08)

OWNERS = ("dana", "lee", "priya", "marco", "sofia", "ken")
SEGMENTS = ("smb", "mid-market", "enterprise")
SEGMENT_WEIGHTS = (0.55, 0.30, 0.15)
SEATS_RANGE = {"smb": (2, 15), "mid-market": (15, 80), "enterprise": (80, 400)}
PLAN_BY_SEGMENT = {
    "smb": (("starter", "pro"), (0.7, 0.3)),
    "mid-market": (("starter", "pro", "enterprise"), (0.15, 0.7, 0.15)),
    "enterprise": (("pro", "enterprise"), (0.25, 0.75)),
}
PLANS = ("starter", "pro", "enterprise")
PRICE_PER_SEAT = {"starter": 10.0, "pro": 25.0, "enterprise": 45.0}

BILLING_PERIOD_DAYS = 30
# Signups spread over the first part of the window so most accounts have history at a typical
# backtest as_of (the window end minus a 90-day horizon).
SIGNUP_SPREAD = 0.6
# Usage events per day at full health: 1.5·sqrt(seats) (≈3 for 4 seats, ≈21 for 200) — large
# accounts use more, sublinearly; kept modest so a year of 1,000 accounts is ~1.5M events.
USAGE_PER_SQRT_SEAT = 1.5
WEEKEND_FACTOR = 0.35
# Day-to-day overdispersion: each day's rate is multiplied by Gamma(k, 1/k) (mean 1, CV 1/sqrt(k)).
DAILY_NOISE_SHAPE = 4.0
WORKDAY_CENTRE_H, WORKDAY_SPREAD_H = 14.0, 3.5
# A churn warning (usage decline) starts this many days before the cancellation.
WARNING_LEAD_DAYS = (21.0, 63.0)
WARNING_FLOOR = 0.1
# Payment failures: (probability per renewal, probability the episode recovers).
PAYMENT_LATE_PAYER = (0.35, 0.75)
PAYMENT_OTHERS = (0.03, 0.85)
# Support tickets per active day at zero distress, by segment; distress multiplies it up to 4x.
TICKETS_PER_DAY = {"smb": 0.01, "mid-market": 0.02, "enterprise": 0.04}
NPS_EVERY_DAYS = 90
NPS_RESPONSE = 0.4
CSAT_RESPONSE = 0.4

_COMPANY_A = (
    "Acme",
    "Blue",
    "North",
    "Bright",
    "Iron",
    "Silver",
    "Quantum",
    "Green",
    "Swift",
    "Atlas",
    "Nova",
    "Cedar",
    "Polar",
    "Summit",
    "Harbor",
    "Vertex",
)
_COMPANY_B = (
    "Labs",
    "Works",
    "Systems",
    "Analytics",
    "Logistics",
    "Health",
    "Foods",
    "Media",
    "Capital",
    "Robotics",
    "Retail",
    "Energy",
    "Studio",
    "Group",
)


@dataclass
class SaasTruth:
    """What really happened to an account (the ground truth labels are computed from)."""

    archetype: str
    starts: list[int] = field(default_factory=list)  # Unix s of each `started`
    cancels: list[int] = field(default_factory=list)  # Unix s of each `cancelled`


@dataclass
class _Account:
    rng: np.random.Generator
    start_ts: int
    days: int
    rows: CustomerRows
    properties: list[dict[str, object]]
    segment: str
    plan: str
    seats: int
    owner: str
    pay_fail: float
    recover: float
    truth: SaasTruth
    # Multiplier on usage from payment trouble, per day (filled while renewals are simulated).
    pay_factor: np.ndarray = field(default_factory=lambda: np.ones(0))
    pay_distress: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def at(self, day: float) -> int:
        return self.start_ts + int(day * SECONDS_PER_DAY)

    def profile(self, day: float, **values: object) -> None:
        self.properties.append(values)
        self.rows.add(self.at(day), "profile", props=len(self.properties) - 1)

    @property
    def mrr(self) -> float:
        return round(PRICE_PER_SEAT[self.plan] * self.seats, 2)


def simulate_account(
    rng: np.random.Generator,
    index: int,
    start_ts: int,
    days: int,
    properties: list[dict[str, object]],
    usage_scale: float = 1.0,
    signup_days: float | None = None,
) -> tuple[CustomerRows, SaasTruth]:
    """Simulate one account over ``days`` days from ``start_ts``; profiles go to ``properties``.

    The signup falls uniformly in the first ``signup_days`` (default: ``SIGNUP_SPREAD`` of the
    window).
    """
    archetype = ARCHETYPES[rng.choice(len(ARCHETYPES), p=ARCHETYPE_WEIGHTS)]
    segment = SEGMENTS[rng.choice(3, p=SEGMENT_WEIGHTS)]
    plans, plan_p = PLAN_BY_SEGMENT[segment]
    low, high = SEATS_RANGE[segment]
    late = archetype == "late_payer"
    acct = _Account(
        rng=rng,
        start_ts=start_ts,
        days=days,
        rows=CustomerRows(),
        properties=properties,
        segment=segment,
        plan=plans[rng.choice(len(plans), p=plan_p)],
        seats=int(rng.integers(low, high + 1)),
        owner=OWNERS[rng.integers(len(OWNERS))],
        pay_fail=PAYMENT_LATE_PAYER[0] if late else PAYMENT_OTHERS[0],
        recover=PAYMENT_LATE_PAYER[1] if late else PAYMENT_OTHERS[1],
        truth=SaasTruth(archetype),
        pay_factor=np.ones(days),
        pay_distress=np.zeros(days),
    )
    spread = days * SIGNUP_SPREAD if signup_days is None else min(signup_days, days)
    signup = float(rng.uniform(0, max(1.0, spread)))
    word_a, word_b = (
        _COMPANY_A[rng.integers(len(_COMPANY_A))],
        _COMPANY_B[rng.integers(len(_COMPANY_B))],
    )
    name = f"{word_a} {word_b} {index}"
    acct.profile(
        signup,
        name=name,
        owner=acct.owner,
        segment=segment,
        plan=acct.plan,
        seats=acct.seats,
        renewal_date=_date(acct.at(signup + BILLING_PERIOD_DAYS)),
    )

    shape = np.ones(days)  # the archetype's own usage trajectory (relative to its base rate)
    d = np.arange(days, dtype=float)
    warn = False
    planned: float | None = None
    request: float | None = None
    lives: list[tuple[float, float | None]] = []  # (begin day, cancel day or None)
    if archetype == "growing":
        growth = rng.uniform(0.5, 1.5)
        shape = 1 + growth * np.clip((d - signup) / 180, 0, 1)
        planned = _maybe(rng, 0.04, signup + 30, days * 1.3)
    elif archetype == "stable":
        planned = _maybe(rng, 0.12, signup + 30, days * 1.3)
        warn = bool(rng.random() < 0.5)
    elif archetype == "declining":
        begin = rng.uniform(signup + 10, max(signup + 11, days))
        tau = rng.uniform(25, 60)
        shape = np.where(d < begin, 1.0, 0.15 + 0.85 * np.exp(-(d - begin) / tau))
        planned = _maybe(rng, 0.6, begin + 30, begin + 120)
    elif archetype == "ghost":
        fade = rng.uniform(signup + 10, max(signup + 11, days))
        tau = rng.uniform(3, 8)
        shape = np.where(d < fade, 1.0, 0.03 + 0.97 * np.exp(-(d - fade) / tau))
        planned = _maybe(rng, 0.85, fade + 45, fade + 150)
    elif archetype == "canceller":
        request = float(rng.uniform(signup + 20, max(signup + 21, days * 1.2)))
        planned = request
        warn = bool(rng.random() < 0.7)
    elif archetype == "reactivated":
        planned = float(rng.uniform(signup + 30, max(signup + 31, days * 0.6)))
        warn = bool(rng.random() < 0.6)

    cancel = _subscription_life(acct, signup, planned, request)
    lives.append((signup, cancel))
    if archetype == "reactivated" and cancel is not None:
        restart = cancel + rng.uniform(20, 60)
        if restart < days:
            acct.pay_fail, acct.recover = PAYMENT_OTHERS
            acct.profile(
                restart,
                plan=acct.plan,
                seats=acct.seats,
                renewal_date=_date(acct.at(restart + BILLING_PERIOD_DAYS)),
            )
            second = _subscription_life(
                acct, restart, _maybe(rng, 0.05, restart + 30, days * 1.3), None
            )
            lives.append((restart, second))
            shape = np.where(d >= restart, 0.8, shape)

    relative = np.zeros(days)  # usage level relative to the account's healthy self, 0 when inactive
    for begin, end in lives:
        active = (d >= math.floor(begin)) & ((d < end) if end is not None else True)
        level = shape * acct.pay_factor
        if warn and end is not None:
            lead = rng.uniform(*WARNING_LEAD_DAYS)
            onset = end - lead
            level = level * np.where(
                d < onset,
                1.0,
                WARNING_FLOOR + (1 - WARNING_FLOOR) * np.exp(-(d - onset) / (lead / 2.5)),
            )
        relative = np.where(active, level, relative)
    _usage(acct, relative, usage_scale)
    distress = np.clip(1 - np.minimum(relative, 1.0) + acct.pay_distress, 0, 1)
    active_days = np.flatnonzero(relative > 0)
    _support(acct, active_days, distress, ghost=archetype == "ghost")
    _feedback(acct, lives, distress, ghost=archetype == "ghost")
    if rng.random() < 0.1 and len(active_days):  # the account changes hands
        acct.profile(float(rng.choice(active_days)) + 0.4, owner=OWNERS[rng.integers(len(OWNERS))])
    return acct.rows, acct.truth


def _maybe(rng: np.random.Generator, probability: float, low: float, high: float) -> float | None:
    """A cancellation day drawn in [low, high) with the given probability, else None."""
    if rng.random() >= probability:
        return None
    return float(rng.uniform(low, max(low + 1, high)))


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _subscription_life(
    acct: _Account, begin: float, planned: float | None, request: float | None
) -> float | None:
    """Start, monthly renewals, payment trouble and the cancellation; returns the cancel day."""
    rng, rows = acct.rng, acct.rows
    rows.add(acct.at(begin), "subscription", "started", amount=acct.mrr)
    acct.truth.starts.append(acct.at(begin))
    if request is not None and request < acct.days:
        rows.add(acct.at(request), "subscription", "cancellation_requested", amount=acct.mrr)
    renewal = begin + BILLING_PERIOD_DAYS
    while renewal < acct.days:
        if planned is not None and renewal >= planned:
            if request is None and rng.random() < 0.3:  # some say so first
                ask = max(planned, renewal - rng.uniform(2, 25))
                rows.add(acct.at(ask), "subscription", "cancellation_requested", amount=acct.mrr)
            return _cancel(acct, renewal)
        if rng.random() < acct.pay_fail:
            rows.add(acct.at(renewal), "subscription", "payment_failed", amount=acct.mrr)
            day = int(renewal)
            acct.pay_factor[day:] *= 0.85
            acct.pay_distress[day : day + 30] += 0.5
            if rng.random() < acct.recover:
                renewal_paid = renewal + rng.uniform(1, 6)
                rows.add(acct.at(renewal_paid), "subscription", "renewed", amount=acct.mrr)
            else:
                rows.add(
                    acct.at(renewal + rng.uniform(3, 7)),
                    "subscription",
                    "payment_failed",
                    amount=acct.mrr,
                )
                return _cancel(acct, renewal + rng.uniform(10, 21))
        else:
            rows.add(acct.at(renewal), "subscription", "renewed", amount=acct.mrr)
        _maybe_change_plan(acct, renewal)
        acct.profile(renewal + 0.01, renewal_date=_date(acct.at(renewal + BILLING_PERIOD_DAYS)))
        renewal += BILLING_PERIOD_DAYS
    return None


def _cancel(acct: _Account, day: float) -> float | None:
    if day >= acct.days:
        return None
    acct.rows.add(acct.at(day), "subscription", "cancelled", amount=acct.mrr)
    acct.truth.cancels.append(acct.at(day))
    return day


def _maybe_change_plan(acct: _Account, day: float) -> None:
    archetype = acct.truth.archetype
    if archetype == "growing" and acct.rng.random() < 0.08:
        acct.seats = int(acct.seats * acct.rng.uniform(1.2, 1.8)) + 1
        if acct.plan != "enterprise" and acct.rng.random() < 0.5:
            acct.plan = PLANS[PLANS.index(acct.plan) + 1]
        name = "upgraded"
    elif archetype in ("declining", "ghost") and acct.rng.random() < 0.06:
        acct.seats = max(1, int(acct.seats * acct.rng.uniform(0.5, 0.8)))
        name = "downgraded"
    else:
        return
    acct.rows.add(acct.at(day + 0.02), "subscription", name, amount=acct.mrr)
    acct.profile(day + 0.03, plan=acct.plan, seats=acct.seats)


def _usage(acct: _Account, relative: np.ndarray, usage_scale: float) -> None:
    rng, days = acct.rng, acct.days
    base = usage_scale * USAGE_PER_SQRT_SEAT * math.sqrt(acct.seats) * rng.lognormal(0, 0.4)
    weekday = (datetime.fromtimestamp(acct.start_ts, UTC).weekday() + np.arange(days)) % 7
    rate = base * relative * np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)
    rate = rate * rng.gamma(DAILY_NOISE_SHAPE, 1 / DAILY_NOISE_SHAPE, days)
    counts = rng.poisson(rate)
    day_of = np.repeat(np.arange(days), counts)
    n = len(day_of)
    if n == 0:
        return
    seconds = np.clip(
        rng.normal(WORKDAY_CENTRE_H * 3600, WORKDAY_SPREAD_H * 3600, n), 0, SECONDS_PER_DAY - 1
    )
    ts = acct.start_ts + day_of.astype(np.int64) * SECONDS_PER_DAY + seconds.astype(np.int64)
    # Breadth follows health: a fading account uses fewer features with fewer people.
    breadth = np.clip(0.25 + 0.75 * np.minimum(relative, 1.0), 0, 1)
    users_total = max(1, int(acct.seats * rng.uniform(0.5, 1.0)))
    users_today = np.maximum(1, np.ceil(users_total * breadth)).astype(np.int64)
    features_today = np.maximum(2, np.round(len(FEATURES) * breadth)).astype(np.int64)
    user = (rng.random(n) ** 1.3 * users_today[day_of]).astype(np.int64)
    feature = (rng.random(n) ** 1.6 * features_today[day_of]).astype(np.int64)
    acct.rows.add_usage(ts, feature, user)


def _support(acct: _Account, active_days: np.ndarray, distress: np.ndarray, ghost: bool) -> None:
    rng, rows = acct.rng, acct.rows
    base = TICKETS_PER_DAY[acct.segment] * (0.3 if ghost else 1.0)  # ghosts do not complain
    p = base * (1 + 3 * distress[active_days])
    for day in active_days[rng.random(len(active_days)) < p]:
        stress = float(distress[day])
        opened = day + rng.uniform(0.3, 0.75)
        rows.add(acct.at(opened), "support", "ticket_opened")
        if rng.random() < 0.1 + 0.4 * stress:
            rows.add(acct.at(opened + rng.uniform(0.1, 1.0)), "support", "ticket_escalated")
        closed = opened + rng.uniform(0.1, 4.0)
        rows.add(acct.at(closed), "support", "ticket_closed")
        if rng.random() < CSAT_RESPONSE:
            csat = round(float(np.clip(rng.normal(4.4 - 2.2 * stress, 0.8), 1, 5)))
            rows.add(acct.at(closed + 0.05), "feedback", "csat", score=float(csat))


def _feedback(
    acct: _Account, lives: list[tuple[float, float | None]], distress: np.ndarray, ghost: bool
) -> None:
    rng = acct.rng
    response = NPS_RESPONSE * (0.35 if ghost else 1.0)
    for begin, end in lives:
        survey = begin + 30
        stop = min(end if end is not None else acct.days, acct.days)
        while survey < stop:
            if rng.random() < response:
                stress = float(distress[int(survey)])
                nps = round(float(np.clip(rng.normal(8.2 - 5 * stress, 1.8), 0, 10)))
                acct.rows.add(
                    acct.at(survey + rng.uniform(0, 3)), "feedback", "nps", score=float(nps)
                )
            survey += NPS_EVERY_DAYS
