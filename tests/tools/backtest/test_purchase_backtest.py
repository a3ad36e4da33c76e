"""Purchase temperature on a real retail log (CDNOW, shipped with lifetimes), a fixed quarter of
its customers: temperature ranks "buys again within 90 days" at least as well as the snapshot's
expected purchases and clearly better than days since the last purchase and than P(alive).
benchmarks/purchase_backtest.py runs the whole log and adds Pareto/NBD as an outside reference."""

from __future__ import annotations

from pathlib import Path

import lifetimes.datasets
import pytest

from vitals.tools.backtest.purchases import read_cdnow, run

CDNOW = Path(lifetimes.datasets.__file__).parent / "CDNOW_master.txt"


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return run(read_cdnow(CDNOW, every_nth_customer=4))


def test_the_log_is_line_items_folded_into_transactions(result) -> None:  # type: ignore[no-untyped-def]
    assert result.customers > 5_000
    assert 0.1 < result.positives / result.customers < 0.3


def test_temperature_ranks_buying_again_at_least_as_well_as_expected_purchases(result) -> None:  # type: ignore[no-untyped-def]
    auc = result.auc
    assert auc["temperature"] >= auc["expected_purchases"] - 1e-3
    assert auc["temperature"] >= auc["days_since_last"] + 0.005
    assert auc["temperature"] >= auc["p_alive_mbgnbd"] + 0.03
    # The default is the best-ranking purchase model of the three.
    best = max(auc["p_buy_mbgnbd_poisson"], auc["p_buy_mbgnbd"], auc["p_buy_bgnbd"])
    assert auc["temperature"] == pytest.approx(best, abs=1e-4)  # published to 2 decimals
