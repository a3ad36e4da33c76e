from __future__ import annotations

import itertools

import pytest

from vitals.core.config import RfmConfig
from vitals.core.norms import MIN_CUSTOMERS_FOR_NORMS, Norms, NormsRow, fit_norms, quintile
from vitals.core.rfm import evaluate, scores, segment_of
from vitals.core.state import CustomerState

from .conftest import at

NORMS = Norms()  # recency edges 14/30/60/120 days, frequency 1/2/4/8, monetary 50/100/250/500
BY_SCORE = RfmConfig(split_rule="score_gte_3")
BY_MEAN = RfmConfig(split_rule="above_population_mean")


def buyer(last_day: float, count: int, spend: float) -> CustomerState:
    return CustomerState("acme", purchases=count, last_purchase_ts=at(last_day), spend_total=spend)


# --- R direction ---------------------------------------------------------------------------------


def test_more_recent_buyer_gets_a_higher_r() -> None:
    now = at(400)
    recent = evaluate(buyer(399, 3, 300.0), now, NORMS, BY_SCORE)
    lapsed = evaluate(buyer(100, 3, 300.0), now, NORMS, BY_SCORE)
    assert recent is not None and lapsed is not None
    assert recent.r == 5 and lapsed.r == 1  # the widely copied code gives these the other way round
    assert recent.recency_days == pytest.approx(1.0)


def test_r_never_increases_as_days_since_the_last_purchase_grow() -> None:
    rs = [scores(days, 1, 1.0, NORMS.recency_days_edges, (), ())[0] for days in range(0, 400)]
    assert rs == sorted(rs, reverse=True)
    assert rs[0] == 5 and rs[-1] == 1


def test_f_and_m_increase_with_frequency_and_spend() -> None:
    fs = [scores(1.0, n, 1.0, (), NORMS.frequency_edges, ())[1] for n in range(1, 20)]
    ms = [scores(1.0, 1, m, (), (), NORMS.monetary_edges)[2] for m in range(1, 1000, 7)]
    assert fs == sorted(fs) and fs[0] == 1 and fs[-1] == 5
    assert ms == sorted(ms) and ms[0] == 1 and ms[-1] == 5


def test_monetary_is_the_mean_transaction_value() -> None:
    result = evaluate(buyer(10, 4, 1000.0), at(11), NORMS, BY_SCORE)
    assert result is not None
    assert result.monetary == 250.0
    assert result.m == 3  # 250 is ON the third edge: not above it


def test_customer_without_transactions_has_no_rfm() -> None:
    assert evaluate(CustomerState("acme"), at(1), NORMS, BY_SCORE) is None


# --- quintile edges ------------------------------------------------------------------------------


def test_quintile_counts_the_edges_strictly_exceeded() -> None:
    edges = (10.0, 20.0, 30.0, 40.0)
    assert [quintile(v, edges) for v in (0, 10, 10.01, 20, 25, 30, 40, 40.5)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        5,
    ]


def test_fitted_edges_split_the_population_into_fifths() -> None:
    n = 100
    rows = [
        NormsRow(
            usage_rate=None,
            breadth=None,
            recency_days=float(i),
            frequency=i + 1,
            monetary=10.0 * (i + 1),
        )
        for i in range(n)
    ]
    norms = fit_norms(rows, NORMS)
    r_counts = [0] * 6
    f_counts = [0] * 6
    for row in rows:
        r, f, _ = scores(
            row.recency_days or 0.0,
            row.frequency,
            row.monetary,
            norms.recency_days_edges,
            norms.frequency_edges,
            norms.monetary_edges,
        )
        r_counts[r] += 1
        f_counts[f] += 1
    assert r_counts[1:] == [20] * 5
    assert f_counts[1:] == [20] * 5
    assert norms.mean_scores == pytest.approx((3.0, 3.0, 3.0))
    # The most recent fifth (0–19 days) is R = 5.
    assert scores(0.0, 1, 1.0, norms.recency_days_edges, (), ())[0] == 5


def test_too_few_buyers_keep_the_prior_edges() -> None:
    rows = [NormsRow(None, None, 1.0, 1, 5.0)] * (MIN_CUSTOMERS_FOR_NORMS - 1)
    assert fit_norms(rows, NORMS).recency_days_edges == NORMS.recency_days_edges


# --- the 8 segments, both split rules ------------------------------------------------------------

EXPECTED = {
    (True, True, True): "important_value",
    (False, True, True): "important_retain",
    (True, False, True): "important_develop",
    (False, False, True): "important_win_back",
    (True, True, False): "general_value",
    (False, True, False): "general_retain",
    (True, False, False): "general_develop",
    (False, False, False): "general_win_back",
}


@pytest.mark.parametrize("high", list(itertools.product([True, False], repeat=3)))
def test_segments_with_score_gte_3(high: tuple[bool, bool, bool]) -> None:
    # 3 is the lowest "high" score, 2 the highest "low" one: the boundary of the rule.
    r, f, m = (3 if h else 2 for h in high)
    assert segment_of(r, f, m, NORMS, BY_SCORE) == EXPECTED[high]


@pytest.mark.parametrize("high", list(itertools.product([True, False], repeat=3)))
def test_segments_above_population_mean(high: tuple[bool, bool, bool]) -> None:
    norms = Norms(mean_scores=(2.5, 3.5, 4.0))
    # Just above the mean is high; exactly at the mean is low.
    above = (3, 4, 5)
    at_mean = (2.5, 3.5, 4.0)
    r, f, m = (above[i] if h else at_mean[i] for i, h in enumerate(high))
    assert segment_of(r, f, m, norms, BY_MEAN) == EXPECTED[high]  # type: ignore[arg-type]


def test_the_two_rules_disagree_where_the_mean_is_not_3() -> None:
    norms = Norms(mean_scores=(3.6, 3.6, 3.6))
    assert segment_of(3, 3, 3, norms, BY_SCORE) == "important_value"
    assert segment_of(3, 3, 3, norms, BY_MEAN) == "general_win_back"


def test_evaluate_reports_the_segment_of_its_own_scores() -> None:
    result = evaluate(buyer(399, 10, 10 * 600.0), at(400), NORMS, BY_SCORE)
    assert result is not None
    assert (result.r, result.f, result.m) == (5, 5, 5)
    assert result.segment == "important_value"
    lapsed_small = evaluate(buyer(100, 1, 20.0), at(400), NORMS, BY_SCORE)
    assert lapsed_small is not None and lapsed_small.segment == "general_win_back"
    assert lapsed_small.as_dict()["recency_days"] == pytest.approx(300.0)
