from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter
from scipy.integrate import quad
from scipy.special import betaln

from vitals.core.models import bgnbd, mbgnbd

# The population parameters of BG/NBD and MBG/NBD: (r, alpha, a, b).
Params = tuple[float, float, float, float]
# CDNOW in weeks and in days, a > 1 case, a + b < 1 case, heavy buyers.
PARAM_SETS: list[Params] = [
    (0.243, 4.414, 0.793, 2.426),
    (0.243, 30.898, 0.793, 2.426),
    (1.5, 20.0, 2.5, 4.0),
    (0.4, 60.0, 0.3, 0.5),
    (3.0, 5.0, 0.9, 8.0),
]
AGES = [5.0, 38.86, 200.0, 900.0]
RECENCY_FRACTIONS = [0.01, 0.3, 0.9, 1.0]
REPEATS = [0, 1, 2, 7, 40]
HORIZONS = [1.0, 30.0, 365.0, 5000.0]
TOLERANCE = 1e-6


def _grid() -> list[tuple[float, float, float]]:
    cells = []
    for x, T, frac in itertools.product(REPEATS, AGES, RECENCY_FRACTIONS):
        cells.append((float(x), 0.0 if x == 0 else frac * T, T))
    return sorted(set(cells))


def _close(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= TOLERANCE * max(1.0, abs(theirs))


def _lifetimes_expected(fitter: BetaGeoFitter, t: float, x: float, t_x: float, T: float) -> float:
    # lifetimes takes log(2F1), which is NaN when a+b+x-1 < 0 makes 2F1 negative (x=0, a+b<1);
    # those cells are checked against numerical integration instead.
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(fitter.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T))


def _expected_by_integration(
    t: float, x: float, t_x: float, T: float, params: tuple[float, ...], *, modified: bool
) -> float:
    """P(alive)·E[(1/p)(1 − ((α+T)/(α+T+p·t))^(r+x))], p ~ Beta(a, b+x[+1]): no 2F1 involved.

    Given alive, the posterior is λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x) (b+x+1 under MBG/NBD,
    which tossed the dropout coin once more, at time 0);
    E[purchases in t | λ, p] = (1 − e^(−λpt))/p.
    """
    r, alpha, a, b = params
    b_post = b + x + (1.0 if modified else 0.0)

    def integrand(p: float) -> float:
        if p == 0.0:  # the limit: (r+x)·t/(α+T)
            return (r + x) * t / (alpha + T)
        return -math.expm1((r + x) * math.log((alpha + T) / (alpha + T + p * t))) / p

    # weight="alg" integrates f(p)·p^(a−1)·(1−p)^(b_post−1) exactly at the endpoint singularities.
    integral, _ = quad(integrand, 0.0, 1.0, weight="alg", wvar=(a - 1.0, b_post - 1.0))
    module = mbgnbd if modified else bgnbd
    return module.p_alive(x, t_x, T, *params) * integral / math.exp(betaln(a, b_post))


def _fitter(cls: type, params: Params) -> BetaGeoFitter:
    fitter = cls()
    fitter.params_ = pd.Series(dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
    return fitter


@pytest.mark.parametrize("params", PARAM_SETS)
def test_bgnbd_p_alive_matches_lifetimes(params: Params) -> None:
    fitter = _fitter(BetaGeoFitter, params)
    for x, t_x, T in _grid():
        theirs = float(fitter.conditional_probability_alive(x, t_x, T)[0])
        assert _close(bgnbd.p_alive(x, t_x, T, *params), theirs), (x, t_x, T)


@pytest.mark.parametrize("params", PARAM_SETS)
def test_bgnbd_expected_purchases_matches_lifetimes(params: Params) -> None:
    fitter = _fitter(BetaGeoFitter, params)
    for (x, t_x, T), t in itertools.product(_grid(), HORIZONS):
        theirs = _lifetimes_expected(fitter, t, x, t_x, T)
        ours = bgnbd.expected_purchases(t, x, t_x, T, *params)
        if math.isfinite(theirs):
            assert _close(ours, theirs), (t, x, t_x, T, ours, theirs)
        else:
            assert params[2] + params[3] < 1.0 and x == 0  # the only known lifetimes NaN region


@pytest.mark.parametrize("params", PARAM_SETS)
def test_mbgnbd_p_alive_and_expected_purchases_match_lifetimes(params: Params) -> None:
    fitter = _fitter(ModifiedBetaGeoFitter, params)
    for (x, t_x, T), t in itertools.product(_grid(), HORIZONS):
        theirs_alive = float(fitter.conditional_probability_alive(x, t_x, T)[0])
        assert _close(mbgnbd.p_alive(x, t_x, T, *params), theirs_alive), (x, t_x, T)
        theirs = _lifetimes_expected(fitter, t, x, t_x, T)
        if not math.isfinite(theirs):
            continue  # lifetimes has no overflow fallback for MBG; ours is checked by integration
        assert _close(mbgnbd.expected_purchases(t, x, t_x, T, *params), theirs), (t, x, t_x, T)


@pytest.mark.parametrize("module, cls", [(bgnbd, BetaGeoFitter), (mbgnbd, ModifiedBetaGeoFitter)])
def test_loglik_matches_lifetimes_negative_log_likelihood(module: object, cls: type) -> None:
    rng = np.random.default_rng(7)
    T = rng.uniform(10, 400, 500)
    x = rng.poisson(3, 500).astype(float)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 500), 0.0)
    for params in PARAM_SETS:
        theirs = cls._negative_log_likelihood(np.log(params), x, t_x, T, np.ones_like(x), 0.0)
        ours = -float(np.mean(module.loglik(params, x, t_x, T)))  # type: ignore[attr-defined]
        assert ours == pytest.approx(theirs, rel=1e-10)


@pytest.mark.parametrize("params", PARAM_SETS)
@pytest.mark.parametrize("modified", [False, True])
def test_expected_purchases_matches_numerical_integration_of_the_posterior(
    params: Params, modified: bool
) -> None:
    module = mbgnbd if modified else bgnbd
    for x, t_x, T, t in [
        (0, 0.0, 5.0, 30.0),
        (0, 0.0, 200.0, 365.0),
        (1, 3.0, 38.86, 1.0),
        (2, 30.43, 38.86, 39.0),
        (7, 150.0, 900.0, 5000.0),
        (40, 899.0, 900.0, 365.0),
    ]:
        expected = _expected_by_integration(t, x, t_x, T, params, modified=modified)
        ours = module.expected_purchases(t, x, t_x, T, *params)
        assert ours == pytest.approx(expected, rel=1e-7, abs=1e-10), (x, t_x, T, t)


def test_cdnow_customer_1_expected_purchases_matches_paper() -> None:
    # Fader, Hardie & Lee (2005), §5: customer with x=2, t_x=30.43, T=38.86 weeks buys 1.226 times
    # in the next 39 weeks. Same customer in days gives the same number.
    weeks = bgnbd.expected_purchases(39, 2, 30.43, 38.86, 0.243, 4.414, 0.793, 2.426)
    days = bgnbd.expected_purchases(273, 2, 213.01, 272.02, 0.243, 30.898, 0.793, 2.426)
    assert weeks == pytest.approx(1.226, abs=5e-4)
    assert days == pytest.approx(weeks, rel=1e-12)


def test_one_time_buyer_is_alive_forever_under_bgnbd_but_decays_under_mbgnbd() -> None:
    params = PARAM_SETS[1]
    assert bgnbd.p_alive(0, 0.0, 10_000.0, *params) == 1.0
    assert bgnbd.p_alive(0, 0.0, 100.0, *params) == 1.0
    _, _, a, b = params
    # Right after the first purchase only the time-0 dropout coin counts: P(alive) = b/(a+b).
    assert mbgnbd.p_alive(0, 0.0, 0.0, *params) == pytest.approx(b / (a + b), rel=1e-12)
    assert mbgnbd.p_alive(0, 0.0, 10_000.0, *params) < mbgnbd.p_alive(0, 0.0, 100.0, *params)
    assert mbgnbd.p_alive(0, 0.0, 100.0, *params) < b / (a + b)


def test_expected_purchases_survives_horizons_where_hyp2f1_overflows() -> None:
    for module in (bgnbd, mbgnbd):
        value = module.expected_purchases(1e12, 40, 800.0, 900.0, 3.0, 5.0, 0.9, 8.0)
        assert math.isfinite(value) and value > 0


def test_expected_purchases_is_continuous_at_the_a_equals_one_singularity() -> None:
    for module in (bgnbd, mbgnbd):
        at_one = module.expected_purchases(90.0, 3, 50.0, 100.0, 0.5, 20.0, 1.0, 2.0)
        below = module.expected_purchases(90.0, 3, 50.0, 100.0, 0.5, 20.0, 1.0 - 1e-4, 2.0)
        above = module.expected_purchases(90.0, 3, 50.0, 100.0, 0.5, 20.0, 1.0 + 1e-4, 2.0)
        assert math.isfinite(at_one)
        assert min(below, above) - 1e-3 <= at_one <= max(below, above) + 1e-3


@pytest.mark.parametrize("params", PARAM_SETS)
def test_crossing_time_is_where_p_alive_equals_p_star(params: Params) -> None:
    for x, t_x, p_star in itertools.product([1, 3, 20], [0.0, 10.0, 150.0], [0.2, 0.5, 0.7]):
        crossing = bgnbd.p_alive_crossing_time(x, t_x, *params, p_star)
        assert crossing is not None
        if crossing > t_x:
            assert bgnbd.p_alive(x, t_x, crossing, *params) == pytest.approx(p_star, abs=1e-9)
        else:  # already below p_star at the last purchase
            assert bgnbd.p_alive(x, t_x, t_x, *params) <= p_star
        mbg_crossing = mbgnbd.p_alive_crossing_time(x, t_x, *params, p_star)
        if mbg_crossing > t_x:
            assert mbgnbd.p_alive(x, t_x, mbg_crossing, *params) == pytest.approx(p_star, abs=1e-9)


def test_crossing_time_is_none_for_one_time_buyers_and_defined_under_mbgnbd() -> None:
    params = PARAM_SETS[1]
    assert bgnbd.p_alive_crossing_time(0, 0.0, *params, 0.5) is None
    crossing = mbgnbd.p_alive_crossing_time(0, 0.0, *params, 0.3)
    assert mbgnbd.p_alive(0, 0.0, crossing, *params) == pytest.approx(0.3, abs=1e-9)


def test_crossing_time_rejects_p_star_outside_open_unit_interval() -> None:
    with pytest.raises(ValueError, match="p_star"):
        bgnbd.p_alive_crossing_time(2, 10.0, *PARAM_SETS[0], 1.0)


positive = st.floats(min_value=0.05, max_value=50.0)
ages = st.floats(min_value=0.0, max_value=5000.0)


@given(
    x=st.integers(0, 200),
    frac=st.floats(0.0, 1.0),
    T=ages,
    dT=st.floats(0.0, 1000.0),
    r=positive,
    alpha=st.floats(0.1, 500.0),
    a=positive,
    b=positive,
)
def test_p_alive_is_a_probability_non_increasing_in_age(
    x: int, frac: float, T: float, dT: float, r: float, alpha: float, a: float, b: float
) -> None:
    t_x = 0.0 if x == 0 else frac * T
    for module in (bgnbd, mbgnbd):
        now = module.p_alive(x, t_x, T, r, alpha, a, b)
        later = module.p_alive(x, t_x, T + dT, r, alpha, a, b)
        assert 0.0 <= later <= now <= 1.0


@given(
    x=st.integers(0, 50),
    frac=st.floats(0.0, 1.0),
    T=st.floats(1.0, 2000.0),
    t=st.floats(0.5, 2000.0),
    r=st.floats(0.05, 10.0),
    alpha=st.floats(1.0, 300.0),
    a=st.floats(0.05, 10.0),
    b=st.floats(0.05, 10.0),
)
def test_expected_purchases_is_non_negative_and_grows_with_horizon(
    x: int, frac: float, T: float, t: float, r: float, alpha: float, a: float, b: float
) -> None:
    t_x = 0.0 if x == 0 else frac * T
    for module in (bgnbd, mbgnbd):
        shorter = module.expected_purchases(t, x, t_x, T, r, alpha, a, b)
        longer = module.expected_purchases(2 * t, x, t_x, T, r, alpha, a, b)
        assert shorter >= -1e-9
        assert longer >= shorter - 1e-9 * max(1.0, shorter)


# --- P(at least one purchase within t) ------------------------------------------------------------


def _simulate(model: str, n: int, T: float, t: float, params: Params):  # type: ignore[no-untyped-def]
    """Customers simulated from the model's own story: (x, t_x, bought in (T, T+t]) per customer."""
    r, alpha, a, b = params
    rng = np.random.default_rng(3)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    out = []
    for i in range(n):
        alive = not (model == "mbgnbd" and rng.random() < p[i])
        now = x = 0
        t_x = 0.0
        future = False
        while alive:
            now += rng.exponential(1.0 / lam[i])
            if now > T + t:
                break
            if now > T:
                future = True
                break
            x, t_x = x + 1, now
            alive = rng.random() >= p[i]
        out.append((x, t_x, future))
    return out


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_p_purchase_within_matches_a_simulation_of_the_model(model: str) -> None:
    params = (0.5, 10.0, 0.8, 2.5)
    T, t = 60.0, 30.0
    sims = _simulate(model, 60_000, T, t, params)
    function = bgnbd.p_purchase_within if model == "bgnbd" else mbgnbd.p_purchase_within
    for x in (0, 1, 3):
        group = [(t_x, future) for xx, t_x, future in sims if xx == x]
        observed = float(np.mean([future for _, future in group]))
        predicted = float(np.mean([function(t, x, t_x, T, *params) for t_x, _ in group]))
        se = (observed * (1 - observed) / len(group)) ** 0.5
        assert abs(observed - predicted) < 4 * se + 0.005, (x, observed, predicted)


def test_p_purchase_within_is_below_expected_purchases_and_tends_to_p_alive() -> None:
    params = (0.5, 10.0, 0.8, 2.5)
    for x, t_x, T in [(0, 0.0, 30.0), (2, 10.0, 30.0), (5, 25.0, 39.0)]:
        for t in (1.0, 30.0, 365.0):
            p = bgnbd.p_purchase_within(t, x, t_x, T, *params)
            assert 0 < p <= bgnbd.expected_purchases(t, x, t_x, T, *params) + 1e-12
        far = mbgnbd.p_purchase_within(1e12, x, t_x, T, *params)
        assert far == pytest.approx(mbgnbd.p_alive(x, t_x, T, *params), rel=1e-3)
        tiny = mbgnbd.p_purchase_within(1e-4, x, t_x, T, *params)
        assert tiny == pytest.approx(mbgnbd.expected_purchases(1e-4, x, t_x, T, *params), rel=1e-3)
