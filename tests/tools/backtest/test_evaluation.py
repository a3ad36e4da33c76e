from __future__ import annotations

import math

import pytest

from vitals.tools.backtest.evaluation import evaluate, format_report
from vitals.tools.backtest.metrics import auc


def _rows() -> list[dict]:
    # risk orders churners first except one swap; temperature mirrors risk; health is noise.
    return [
        {"customer_id": "s1", "risk": 90.0, "temperature": 10.0, "health": 50.0},
        {"customer_id": "s2", "risk": 70.0, "temperature": 30.0, "health": 20.0},
        {"customer_id": "s3", "risk": 60.0, "temperature": 40.0, "health": 70.0},
        {"customer_id": "s4", "risk": 20.0, "temperature": 80.0, "health": 60.0},
        {"customer_id": "s5", "risk": 10.0, "temperature": 90.0, "health": 40.0},
        {"customer_id": "p1", "risk": 50.0, "temperature": 85.0, "health": None},
        {"customer_id": "p2", "risk": 50.0, "temperature": 15.0, "health": None},
    ]


LABELS = {
    "s1": {"churned": 1},
    "s2": {"churned": 0},
    "s3": {"churned": 1},
    "s4": {"churned": 0},
    "s5": {"churned": 0},
    "s9": {"churned": 1},  # labelled but never scored
    "p1": {"buys_again": 1},
    "p2": {"buys_again": 0},
}
BASELINES = {
    "s1": {"days_since_last_activity": 30.0, "usage_14d": 0.0},
    "s2": {"days_since_last_activity": 1.0, "usage_14d": 9.0},
    "s3": {"days_since_last_activity": 2.0, "usage_14d": 5.0},
    "s4": {"days_since_last_activity": 3.0, "usage_14d": 4.0},
    "s5": {"days_since_last_activity": 0.5, "usage_14d": 20.0},
    "p1": {"days_since_last_activity": 5.0, "usage_14d": 0.0},
    "p2": {"days_since_last_activity": 50.0, "usage_14d": 0.0},
}


def _row(evaluation, target: str, predictor: str):
    return next(r for r in evaluation.rows if r.target == target and r.predictor == predictor)


def test_each_target_is_scored_by_the_model_and_the_baselines() -> None:
    result = evaluate(_rows(), BASELINES, LABELS)
    churn = _row(result, "churned", "risk")
    assert (churn.n, churn.positives) == (5, 2)
    assert churn.auc == pytest.approx(auc([1, 0, 1, 0, 0], [90, 70, 60, 20, 10]))  # 5/6
    assert churn.brier == pytest.approx(((0.9 - 1) ** 2 + 0.7**2 + 0.4**2 + 0.2**2 + 0.1**2) / 5)
    quiet = _row(result, "churned", "baseline: days since last activity")
    assert quiet.auc == pytest.approx(auc([1, 0, 1, 0, 0], [30, 1, 2, 3, 0.5]))
    assert quiet.brier is None
    usage = _row(result, "churned", "baseline: -usage last 14 d")
    assert usage.auc == pytest.approx(auc([1, 0, 1, 0, 0], [0, -9, -5, -4, -20]))
    assert result.missing["churned"] == 1


def test_retention_is_one_minus_churn_and_judged_by_temperature_and_health() -> None:
    result = evaluate(_rows(), BASELINES, LABELS)
    retained = _row(result, "retained", "temperature")
    assert retained.positives == 3
    assert retained.auc == pytest.approx(auc([0, 1, 0, 1, 1], [10, 30, 40, 80, 90]))
    health = _row(result, "retained", "health")
    assert health.auc == pytest.approx(auc([0, 1, 0, 1, 1], [50, 20, 70, 60, 40]))
    assert health.brier is None


def test_purchase_customers_are_judged_on_buying_again() -> None:
    result = evaluate(_rows(), BASELINES, LABELS)
    again = _row(result, "buys_again", "temperature")
    assert (again.n, again.auc, again.lift) == (2, 1.0, 2.0)
    flat = _row(result, "buys_again", "baseline: usage last 14 d")
    assert flat.auc == 0.5  # no usage for buyers: the baseline cannot rank them


def test_a_target_with_one_class_reports_no_auc() -> None:
    result = evaluate(_rows(), BASELINES, {"s2": {"churned": 0}, "s4": {"churned": 0}})
    row = _row(result, "churned", "risk")
    assert math.isnan(row.auc) and math.isnan(row.lift)
    assert "-" in format_report(result)


def test_report_lists_rows_and_reliability_tables() -> None:
    text = format_report(evaluate(_rows(), BASELINES, LABELS))
    assert "baseline: days since last activity" in text
    assert "reliability: risk vs churned" in text
    assert "reliability: temperature vs buys_again" in text
    assert "(1 labelled churned customers had no events up to as_of: not scored)" in text


def test_comparison_shows_each_probability_per_config_and_rankings_once() -> None:
    from vitals.tools.backtest.evaluation import format_comparison

    colder = [{**row, "risk": row["risk"] / 2} for row in _rows()]
    text = format_comparison(
        {
            "default": evaluate(_rows(), BASELINES, LABELS),
            "calibrated": evaluate(colder, BASELINES, LABELS),
        }
    )
    risk_lines = [line for line in text.splitlines() if line.startswith("churned     risk")]
    assert [line.split()[2] for line in risk_lines] == ["default", "calibrated"]
    assert sum("baseline: days since last activity" in line for line in text.splitlines()) == 1
    assert sum(line.startswith("retained    health") for line in text.splitlines()) == 1
    # mean p is the mean predicted probability: halving risk halves it.
    means = [float(line.split()[-2]) for line in risk_lines]
    assert means[1] == pytest.approx(means[0] / 2, abs=1e-3)
