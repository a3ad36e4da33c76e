from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from vitals.core.models import bgnbd
from vitals.core.population import (
    DEFAULT_SBG_KEY,
    PRIORS,
    CustomerStatsRow,
    PopulationParams,
    refit,
)

from .simulators import simulate_bg, simulate_gammagamma, simulate_sbg

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _purchase_rows(rng: np.random.Generator, n: int) -> list[CustomerStatsRow]:
    T = rng.uniform(60.0, 540.0, n)
    x, t_x = simulate_bg(rng, T, 0.6, 25.0, 0.9, 3.0)
    spend = np.where(x > 0, simulate_gammagamma(rng, np.maximum(x, 1.0), 5.0, 3.0, 40.0), 0.0)
    return [
        CustomerStatsRow(
            x=int(xi), t_x=float(ti), T=float(Ti), monetary=float(mi) if xi > 0 else None
        )
        for xi, ti, Ti, mi in zip(x, t_x, T, spend, strict=True)
    ]


def _subscription_rows(
    rng: np.random.Generator, n: int, plan: str, alpha: float, beta: float
) -> list[CustomerStatsRow]:
    renewals, active = simulate_sbg(rng, rng.integers(0, 25, n), alpha, beta)
    return [
        CustomerStatsRow(plan=plan, renewals=int(k), active=bool(a))
        for k, a in zip(renewals, active, strict=True)
    ]


def test_priors_are_the_cited_values_in_days() -> None:
    assert PRIORS.version == "prior"
    assert PRIORS.bgnbd.alpha == pytest.approx(4.414 * 7)
    assert (PRIORS.bgnbd.r, PRIORS.bgnbd.a, PRIORS.bgnbd.b) == (0.243, 0.793, 2.426)
    assert PRIORS.sbg_for("anything") == PRIORS.sbg[DEFAULT_SBG_KEY] == (0.3, 9.7)
    assert PRIORS.sbg_for("anything", "year") == (1.0, 4.0)
    assert PRIORS.gammagamma == (6.25, 3.74, 15.44)
    # The paper's CDNOW customer 1 in days: same forecast as in weeks.
    assert bgnbd.expected_purchases(273, 2, 213.01, 272.02, *PRIORS.bgnbd) == pytest.approx(
        1.226, abs=1e-3
    )


def test_params_round_trip_through_json() -> None:
    rng = np.random.default_rng(5)
    fitted = refit(_purchase_rows(rng, 400), now=NOW)
    restored = PopulationParams.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert restored == fitted
    assert PopulationParams.from_dict(PRIORS.to_dict()) == PRIORS


def test_params_require_a_default_sbg_entry() -> None:
    with pytest.raises(ValueError, match="default"):
        PopulationParams(
            bgnbd=PRIORS.bgnbd, mbgnbd=PRIORS.mbgnbd, sbg={}, gammagamma=PRIORS.gammagamma
        )


def test_refit_fits_what_has_data_and_keeps_priors_for_the_rest() -> None:
    rng = np.random.default_rng(11)
    rows = _purchase_rows(rng, 1500)
    rows += _subscription_rows(rng, 1500, "pro", 0.8, 2.5)
    rows += _subscription_rows(rng, 30, "enterprise", 0.3, 6.0)
    params = refit(rows, min_customers=100, now=NOW)

    assert params.version.startswith("fit-20240501T120000Z-")
    assert params.fitted_at == NOW and params.n_customers == len(rows)
    for component in ("bgnbd", "mbgnbd", "gammagamma", "sbg:default@month", "sbg:pro@month"):
        assert params.sources[component].startswith("fit:"), params.sources[component]
    assert params.bgnbd != PRIORS.bgnbd
    assert params.sbg["pro@month"].alpha == pytest.approx(0.8, rel=0.3)
    assert params.sbg["pro@month"].beta == pytest.approx(2.5, rel=0.3)
    # Too few enterprise subscribers: no own parameters, falls back to the fitted default.
    assert "enterprise@month" not in params.sbg
    assert params.sources["sbg:enterprise@month"].startswith("kept: 30 customers")
    assert params.sbg_for("enterprise") == params.sbg[DEFAULT_SBG_KEY]


def test_monthly_and_annual_renewals_are_fitted_apart_never_pooled() -> None:
    rng = np.random.default_rng(12)
    monthly = _subscription_rows(rng, 1500, "pro", 0.8, 2.5)
    annual = [
        CustomerStatsRow(plan="pro", period="year", renewals=r.renewals, active=r.active)
        for r in _subscription_rows(rng, 1500, "pro", 3.0, 2.0)
    ]
    params = refit(monthly + annual, min_customers=100, now=NOW)
    assert params.sbg["pro@month"].alpha == pytest.approx(0.8, rel=0.3)
    assert params.sbg["pro@year"].alpha == pytest.approx(3.0, rel=0.3)
    assert params.sbg_for("pro", "year") == params.sbg["pro@year"]
    # Each period's default pools its own period only.
    assert params.sbg["default@year"].alpha == pytest.approx(3.0, rel=0.3)


def test_a_period_without_any_fit_gets_the_monthly_prior_converted_to_it() -> None:
    weekly = PRIORS.sbg_for("pro", "week")
    monthly = PRIORS.sbg[DEFAULT_SBG_KEY]
    assert weekly.alpha + weekly.beta == pytest.approx(monthly.alpha + monthly.beta)
    weekly_churn = weekly.alpha / (weekly.alpha + weekly.beta)
    assert 1 - (1 - weekly_churn) ** (30.4375 / 7) == pytest.approx(0.03, rel=1e-6)


def test_params_stored_before_periods_read_as_monthly() -> None:
    data = PRIORS.to_dict()
    data["sbg"] = {"default": {"alpha": 0.5, "beta": 9.5}, "pro": {"alpha": 1.0, "beta": 5.0}}
    restored = PopulationParams.from_dict(data)
    assert restored.sbg_for("pro") == (1.0, 5.0)
    assert restored.sbg[DEFAULT_SBG_KEY] == (0.5, 9.5)


def test_refit_without_enough_data_returns_the_fallback_values_with_reasons() -> None:
    rng = np.random.default_rng(2)
    params = refit(_purchase_rows(rng, 40), now=NOW)
    assert params.bgnbd == PRIORS.bgnbd
    assert params.gammagamma == PRIORS.gammagamma
    assert params.sbg == PRIORS.sbg
    assert params.sources["bgnbd"].startswith("kept: 40 customers < min_customers")
    assert params.sources["sbg:default@month"].startswith("kept: 0 customers")


def test_refit_keeps_prior_when_parameters_are_not_identified() -> None:
    # Every subscriber observed for exactly one renewal: α and β cannot be separated.
    rng = np.random.default_rng(3)
    renewals, active = simulate_sbg(rng, np.ones(2000, np.int64), 1.0, 2.0)
    rows = [
        CustomerStatsRow(renewals=int(k), active=bool(a))
        for k, a in zip(renewals, active, strict=True)
    ]
    params = refit(rows, now=NOW)
    assert params.sbg[DEFAULT_SBG_KEY] == PRIORS.sbg[DEFAULT_SBG_KEY]
    assert params.sources["sbg:default@month"].startswith("kept:")
    assert "identif" in params.sources["sbg:default@month"]


def test_refit_is_deterministic_for_the_same_snapshot() -> None:
    rows = _purchase_rows(np.random.default_rng(9), 300)
    assert refit(rows, now=NOW) == refit(rows, now=NOW)
