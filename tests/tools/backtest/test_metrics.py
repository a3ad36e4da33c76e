from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitals.tools.backtest.metrics import (
    auc,
    average_ranks,
    brier,
    expected_calibration_error,
    lift_at_top,
    reliability_table,
)


def _pair_count_auc(y: list[int], s: list[float]) -> float:
    pos = [score for label, score in zip(y, s, strict=True) if label == 1]
    neg = [score for label, score in zip(y, s, strict=True) if label == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_auc_of_a_perfect_ranking_is_one_and_of_the_reverse_zero() -> None:
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0


def test_auc_hand_computed_with_ties() -> None:
    # pairs (pos, neg): (0.5,0.1)=1 (0.5,0.5)=.5 (0.3,0.1)=1 (0.3,0.5)=0  -> 2.5/4
    assert auc([1, 0, 1, 0], [0.5, 0.1, 0.3, 0.5]) == pytest.approx(0.625)
    assert auc([1, 0, 1, 0], [7, 7, 7, 7]) == 0.5


def test_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="positive and one negative"):
        auc([1, 1], [0.2, 0.3])


def test_average_ranks_share_ties() -> None:
    assert average_ranks(np.array([10.0, 20.0, 10.0, 30.0, 20.0])).tolist() == [
        1.5,
        3.5,
        1.5,
        5.0,
        3.5,
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1), st.integers(0, 6).map(lambda v: v / 3)
        ),  # few values: many ties
        min_size=2,
        max_size=60,
    ).filter(lambda rows: 0 < sum(label for label, _ in rows) < len(rows))
)
def test_auc_equals_the_brute_force_pair_count(rows: list[tuple[int, float]]) -> None:
    y = [label for label, _ in rows]
    s = [score for _, score in rows]
    assert auc(y, s) == pytest.approx(_pair_count_auc(y, s), abs=1e-12)


def test_lift_at_top_decile_hand_computed() -> None:
    # 20 customers, 4 positives (base 0.2); top 2 by score are one positive, one negative -> 0.5/0.2
    y = [1, 0] + [1, 1, 1] + [0] * 15
    s = [0.99, 0.98] + [0.5, 0.4, 0.3] + [0.1] * 15
    assert lift_at_top(y, s) == pytest.approx(2.5)


def test_lift_counts_a_tie_at_the_cut_off_by_its_expected_share() -> None:
    # top 1 of 10 is a tie between a positive and a negative: expected 0.5 positives / 1 slot.
    y = [1, 0] + [0] * 7 + [1]
    s = [0.9, 0.9] + [0.1] * 8
    assert lift_at_top(y, s) == pytest.approx(0.5 / 0.2)
    assert lift_at_top(list(reversed(y)), list(reversed(s))) == pytest.approx(2.5)


def test_reliability_table_groups_predictions_into_bins() -> None:
    p = [0.05, 0.08, 0.15, 0.55, 0.58, 1.0]
    y = [0, 1, 0, 1, 1, 1]
    rows = reliability_table(y, p)
    assert [(r.lower, r.count) for r in rows] == [(0.0, 2), (0.1, 1), (0.5, 2), (0.9, 1)]
    assert rows[0].mean_predicted == pytest.approx(0.065)
    assert rows[0].observed_rate == 0.5
    assert rows[2].observed_rate == 1.0
    assert expected_calibration_error(rows) == pytest.approx(
        (2 * abs(0.065 - 0.5) + 1 * 0.15 + 2 * abs(0.565 - 1) + 0) / 6
    )


def test_reliability_table_rejects_non_probabilities() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reliability_table([0, 1], [0.2, 1.3])


def test_brier_hand_computed() -> None:
    assert brier([1, 0], [0.8, 0.4]) == pytest.approx((0.04 + 0.16) / 2)
    assert brier([1, 0, 1, 0], [0.5] * 4) == 0.25


def test_metrics_reject_mismatched_or_missing_values() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        auc([0, 1], [0.1])
    with pytest.raises(ValueError, match="finite"):
        brier([0, 1], [0.1, math.nan])
    with pytest.raises(ValueError, match="0 or 1"):
        auc([0, 2], [0.1, 0.2])
