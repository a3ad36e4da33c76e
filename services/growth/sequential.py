"""Always-valid inference for a difference of two means: the mixture SPRT (mSPRT).

Method: Johari, Koomen, Pekelis & Walsh, "Always Valid Inference: Continuous Monitoring of A/B
Tests", Operations Research 70(3), 2022 (arXiv:1512.04922), §4: for an estimate θ̂ of the
difference with variance V (plug-in, from the two arms), the likelihood ratio of N(θ, V) against
the null θ = θ₀, mixed over θ ~ N(θ₀, τ²), is

    Λ(θ₀) = sqrt(V / (V + τ²)) · exp( τ² (θ̂ − θ₀)² / (2 V (V + τ²)) ).

Under the null Λ is (asymptotically) a martingale with mean 1, so by Ville's inequality
P(sup Λ ≥ 1/α) ≤ α: the test may be looked at after every observation, every day, and stopped
whenever Λ ≥ 1/α, without inflating the false-positive rate above α. The always-valid p-value is
min(1, 1 / max over looks of Λ), and inverting the test gives a confidence sequence (an interval
that covers θ at every look simultaneously with probability ≥ 1 − α):

    θ̂ ± sqrt( 2 V (V + τ²) / τ² · ( ln(1/α) + ½ ln((V + τ²) / V) ) ).

τ (``mixture_sd``) tunes the test to effects of about that size; any τ > 0 keeps it valid.
The normal approximation needs a few dozen units per arm: looks before ``MIN_UNITS_PER_ARM``
report no decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Below this many units in an arm the plug-in variance (and the normal approximation behind the
# martingale) is too rough: an A/A test with 5 units per arm can show a "significant" gap.
MIN_UNITS_PER_ARM = 50
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class SequentialResult:
    effect: float  # treatment mean - control mean
    variance: float
    log_lr: float  # ln Λ(0)
    lower: float  # always-valid (1 - alpha) interval
    upper: float
    fixed_lower: float  # classic 95 % interval, valid only for one look fixed in advance
    fixed_upper: float
    testable: bool

    def decided(self, alpha: float) -> bool:
        return self.testable and self.log_lr >= math.log(1.0 / alpha)


def msprt(
    mean_t: float,
    var_t: float,
    n_t: int,
    mean_c: float,
    var_c: float,
    n_c: int,
    mixture_sd: float,
    alpha: float,
) -> SequentialResult:
    """The mSPRT for treatment minus control, from each arm's mean, variance and size."""
    effect = mean_t - mean_c
    testable = min(n_t, n_c) >= MIN_UNITS_PER_ARM
    if n_t == 0 or n_c == 0:
        return SequentialResult(
            effect, math.inf, 0.0, -math.inf, math.inf, -math.inf, math.inf, False
        )
    variance = var_t / n_t + var_c / n_c
    if variance <= 0.0:
        # Both arms constant (all converted or none): no evidence either way yet.
        return SequentialResult(effect, 0.0, 0.0, -math.inf, math.inf, effect, effect, False)
    tau2 = mixture_sd * mixture_sd
    log_lr = 0.5 * math.log(variance / (variance + tau2)) + tau2 * effect * effect / (
        2.0 * variance * (variance + tau2)
    )
    half = math.sqrt(
        2.0
        * variance
        * (variance + tau2)
        / tau2
        * (math.log(1.0 / alpha) + 0.5 * math.log((variance + tau2) / variance))
    )
    fixed = Z_95 * math.sqrt(variance)
    return SequentialResult(
        effect,
        variance,
        log_lr,
        effect - half,
        effect + half,
        effect - fixed,
        effect + fixed,
        testable,
    )


def proportion(successes: int, n: int) -> tuple[float, float]:
    """Mean and (population) variance of a 0/1 outcome."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    return p, p * (1.0 - p)


def mean_and_variance(total: float, total_sq: float, n: int) -> tuple[float, float]:
    """Mean and variance of an outcome from its sum and sum of squares over n units."""
    if n == 0:
        return 0.0, 0.0
    mean = total / n
    return mean, max(0.0, total_sq / n - mean * mean)
