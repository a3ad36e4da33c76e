"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

Fader, P.S., Hardie, B.G.S. & Lee, K.L. (2005), "RFM and CLV: Using Iso-Value Curves for Customer
Base Analysis", Journal of Marketing Research 42(4), 415-430; Hardie's note 025
(http://brucehardie.com/notes/025/) for the formulas used here.

Model: a customer's transaction values are Gamma(p, ν); their ν ~ Gamma(q, v) across customers
(v is a scale in currency units). Assumes spend is independent of the purchase process, so it
multiplies BG/NBD's expected purchases in :mod:`vitals.core.clv`.

``frequency`` = number of repeat transactions the mean ``monetary_value`` (currency units per
transaction) was computed over. Matches lifetimes' ``GammaGammaFitter``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln


class GGParams(NamedTuple):
    """Gamma-Gamma parameters: shapes p, q (q > 1 for a finite mean) and scale v (currency)."""

    p: float
    q: float
    v: float


def population_mean_spend(p: float, q: float, v: float) -> float:
    """E[spend per transaction] for a random customer = p·v/(q−1) (requires q > 1)."""
    if q <= 1.0:
        raise ValueError(f"Gamma-Gamma mean spend is infinite for q <= 1 (q = {q}); refit")
    return p * v / (q - 1.0)


def conditional_expected_average_profit(
    frequency: float, monetary_value: float, p: float, q: float, v: float
) -> float:
    """E[spend per transaction | x transactions averaging m] (note 025, eq. 5).

    = (q−1)/(px+q−1) · pv/(q−1) + px/(px+q−1) · m: a weighted average that shrinks the observed mean
    towards the population mean, less so the more transactions we have seen. For x = 0 it is the
    population mean (``monetary_value`` is ignored).
    """
    population_mean = population_mean_spend(p, q, v)
    individual_weight = p * frequency / (p * frequency + q - 1.0)
    return (1.0 - individual_weight) * population_mean + individual_weight * monetary_value


def loglik(
    params: ArrayLike, frequency: ArrayLike, monetary_value: ArrayLike
) -> NDArray[np.float64]:
    """Individual log-likelihoods (array) of the observed mean spends, note 025 eq. (1a).

    Only customers with frequency > 0 and monetary_value > 0 carry information; pass only those.
    """
    p, q, v = (float(val) for val in np.asarray(params, dtype=float))
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v),
        dtype=np.float64,
    )
