"""One simulated non-contractual (e-commerce style) customer: BG/NBD purchases, Gamma-Gamma spend.

The process of Fader, Hardie & Lee (2005) with per-customer parameters drawn from population
mixing distributions:
- while alive, purchases arrive as a Poisson process with rate λ ~ Gamma(r, α) (per day);
- after each purchase the customer drops out with probability p ~ Beta(a, b). With
  ``dropout_at_first`` (our default) that includes the first purchase, as in MBG/NBD (Batislam et
  al. 2007): many real one-time buyers never come back, and this is exactly the case where plain
  BG/NBD's P(alive | x = 0) = 1 misleads, so a backtest on this data shows the difference;
- order values follow Gamma-Gamma (Fader, Hardie & Lee 2005b): z ~ Gamma(shape p, rate ν),
  ν ~ Gamma(shape q, rate γ), so the population mean order value is p·γ/(q−1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vitals.tools.sim.columns import SECONDS_PER_DAY, CustomerRows

# Purchase rate λ ~ Gamma(shape R, rate ALPHA) per day: mean R/ALPHA = 0.024/day (one order in
# ~42 days), heterogeneous (shape < 1: many slow buyers, a few frequent ones).
BGNBD_R = 0.6
BGNBD_ALPHA = 25.0
# Dropout p ~ Beta(A, B): mean 0.2 per purchase.
BGNBD_A = 0.7
BGNBD_B = 2.8
# Spend: mean order value p·γ/(q−1) = 6·12/2.5 ≈ 28.8 (currency units).
GG_P = 6.0
GG_Q = 3.5
GG_GAMMA = 12.0
MIN_ORDER_VALUE = 0.5
# First purchases ("births") spread over the first 70% of the window.
BIRTH_SPREAD = 0.7

_FIRST = (
    "Ana",
    "Ben",
    "Chloe",
    "David",
    "Eva",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jon",
    "Kira",
    "Luis",
    "Mei",
    "Noah",
    "Olga",
    "Pavel",
    "Rosa",
    "Sam",
    "Tara",
    "Yusuf",
)
_LAST = (
    "Smith",
    "Garcia",
    "Kim",
    "Müller",
    "Rossi",
    "Silva",
    "Nowak",
    "Khan",
    "Dubois",
    "Sato",
    "Jensen",
    "Novak",
    "Ivanova",
    "Okafor",
)


@dataclass
class PurchaseTruth:
    """A purchase customer's true process and purchase times (Unix s)."""

    rate_per_day: float
    dropout: float
    mean_spend: float
    purchases: list[int] = field(default_factory=list)
    dropped_out_at: int | None = None  # time of the purchase after which they left, if any


def simulate_buyer(
    rng: np.random.Generator,
    index: int,
    start_ts: int,
    days: int,
    properties: list[dict[str, object]],
    dropout_at_first: bool = True,
    signup_days: float | None = None,
) -> tuple[CustomerRows, PurchaseTruth]:
    """Simulate one purchase-only customer over ``days`` days from ``start_ts``.

    The first purchase falls uniformly in the first ``signup_days`` (default: ``BIRTH_SPREAD``
    of the window)."""
    rate = float(rng.gamma(BGNBD_R, 1 / BGNBD_ALPHA))
    dropout = float(rng.beta(BGNBD_A, BGNBD_B))
    nu = float(rng.gamma(GG_Q, 1 / GG_GAMMA))
    truth = PurchaseTruth(rate_per_day=rate, dropout=dropout, mean_spend=GG_P / nu)
    rows = CustomerRows()
    birth = float(
        rng.uniform(0, days * BIRTH_SPREAD if signup_days is None else min(signup_days, days))
    )
    times = [birth]
    alive = not (dropout_at_first and rng.random() < dropout)
    t = birth
    while alive:
        t += float(rng.exponential(1 / rate))
        if t >= days:
            break
        times.append(t)
        alive = rng.random() >= dropout
    amounts = np.maximum(MIN_ORDER_VALUE, rng.gamma(GG_P, 1 / nu, len(times))).round(2)
    properties.append(
        {"name": f"{_FIRST[rng.integers(len(_FIRST))]} {_LAST[rng.integers(len(_LAST))]} {index}"}
    )
    rows.add(start_ts + int(birth * SECONDS_PER_DAY) - 60, "profile", props=len(properties) - 1)
    for when, amount in zip(times, amounts.tolist(), strict=True):
        ts = start_ts + int(when * SECONDS_PER_DAY)
        rows.add(ts, "purchase", amount=float(amount))
        truth.purchases.append(ts)
    if not alive and t < days:
        truth.dropped_out_at = truth.purchases[-1]
    return rows, truth
