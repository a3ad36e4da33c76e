"""Growth endpoints: ``/v1/funnel``, ``/v1/groups``, ``/v1/growth``, ``/v1/experiments``.

All read the Redis growth projection (vitals.growth.projection): per-metric totals by day and
cohort, so a request costs the number of (metric, day, cohort) cells, not a scan of entities.
Filters: ``period`` (month, quarter, week, days:N), ``cohort`` (acquisition month YYYY-MM),
``since`` / ``until`` (YYYY-MM-DD, inclusive, on the day each fact happened).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from vitals.api.deps import GrowthConfigDep, ReadAccess, RedisDep
from vitals.growth.budget import BUDGET_HELP, Budget
from vitals.growth.config import GrowthConfig
from vitals.growth.experiments import analyse, experiment_names
from vitals.growth.periods import PERIOD_HELP, Period, day_number
from vitals.growth.projection import GrowthProjection
from vitals.growth.report import View, funnel, groups, growth
from vitals.platform.problems import Problem

router = APIRouter(tags=["growth"], dependencies=[ReadAccess])

_COHORT = re.compile(r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$")
PeriodQuery = Annotated[str, Query(description=PERIOD_HELP)]
CohortQuery = Annotated[
    str | None, Query(description="acquisition cohort YYYY-MM (month first seen)")
]
DayQuery = Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")]


@dataclass(frozen=True)
class Window:
    """The filters every growth report takes (query parameters, see the module docstring)."""

    period: PeriodQuery = "month"
    cohort: CohortQuery = None
    since: DayQuery = None
    until: DayQuery = None


WindowDep = Annotated[Window, Depends()]


def _day(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return day_number(text)
    except ValueError:
        raise Problem(
            400, "Invalid date", f"{name} must be a date YYYY-MM-DD, got {text!r}"
        ) from None


async def _view(redis: Any, window: Window) -> tuple[View, GrowthProjection]:
    period, cohort = window.period, window.cohort
    try:
        kind = Period.parse(period)
    except ValueError as err:
        raise Problem(400, "Invalid period", str(err)) from None
    if cohort is not None and not _COHORT.match(cohort):
        raise Problem(400, "Invalid cohort", f"cohort must be a month YYYY-MM, got {cohort!r}")
    projection = GrowthProjection(redis)
    aggregates = await projection.aggregates()
    since, until = _day("since", window.since), _day("until", window.until)
    return View(aggregates, kind, cohort, since, until), projection


@router.get("/v1/funnel")
async def get_funnel(
    redis: RedisDep,
    window: WindowDep,
    budget: Annotated[str | None, Query(description=BUDGET_HELP, max_length=2000)] = None,
) -> dict[str, Any]:
    """Stage entries per period, conversion rates (lead→MQL, MQL→SQL, MQL→opportunity,
    MQL→customer, each over the cohort that entered the first stage in the period), lead
    velocity rate, fast vs old lead conversions, cost per SQL, time in stage, current stages."""
    view, _ = await _view(redis, window)
    try:
        spend = Budget.parse(budget, view.period) if budget is not None else None
    except ValueError as err:
        raise Problem(400, "Invalid budget", str(err)) from None
    return {"period": window.period, "cohort": window.cohort, **funnel(view, spend)}


@router.get("/v1/groups")
async def get_groups(redis: RedisDep, window: WindowDep, config: GrowthConfigDep) -> dict[str, Any]:
    """Customer groups A–E: sizes at the end of each period, flows between groups in it
    (``"AB"``: from A to B; ``"-A"``: first seen), current sizes, the thresholds used, and
    ``fitted``: the unit price (a 1-2-5 bucket) and orders at ``threshold_quantile`` of the
    customers buying now, to set the thresholds from (null without buyers)."""
    view, _ = await _view(redis, window)
    return {
        "period": window.period,
        "cohort": window.cohort,
        "thresholds": {
            "unit_price": config.price_threshold,
            "orders_in_window": config.frequency_threshold,
            "window_days": config.group_window_days,
        },
        **groups(view, config.threshold_quantile),
    }


@router.get("/v1/growth")
async def get_growth(redis: RedisDep, window: WindowDep, config: GrowthConfigDep) -> dict[str, Any]:
    """AARRR per period, activation rate (by acquisition period), K-factor and viral cycle time
    (with a cohort: the referrals of that cohort's referrers)."""
    view, projection = await _view(redis, window)
    referrers = {slot for (_, slot) in view.cells("kref", by_slot=True)}
    arrivals = await projection.arrivals(referrers)
    cohorts = await projection.cohorts(referrers) if window.cohort is not None else {}
    return {
        "period": window.period,
        "cohort": window.cohort,
        "activation_event": config.activation_event,
        **growth(view, arrivals, cohorts),
    }


async def _experiments(
    redis: Any, config: GrowthConfig, as_of: str | None
) -> tuple[list[dict[str, Any]], Any]:
    projection = GrowthProjection(redis)
    aggregates = await projection.aggregates()
    today = _day("as_of", as_of)
    if today is None:
        # The data's own "now" (the latest day any fact happened), not the wall clock: a replay
        # of history is read as of that history, and units assigned within the last horizon
        # are reported as not matured rather than counted with unfinished outcomes.
        days = [
            int(day)
            for cells in aggregates.values()
            for key in cells
            if (day := key.partition("|")[0]).isdigit()
        ]
        today = max(days, default=0)
    reports = [
        analyse(aggregates, name, config.experiment(name), today, config.alpha)
        for name in experiment_names(aggregates)
    ]
    return reports, projection


@router.get("/v1/experiments")
async def list_experiments(
    redis: RedisDep,
    config: GrowthConfigDep,
    as_of: Annotated[str | None, Query(description="analysis day YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    """Every experiment: arms, goal metric, effect with always-valid and fixed-horizon intervals,
    decision and the day it was reached, and the recorded decision alerts."""
    reports, projection = await _experiments(redis, config, as_of)
    return {"experiments": reports, "decisions": await projection.decisions()}


@router.get("/v1/experiments/{name}")
async def get_experiment(
    name: str,
    redis: RedisDep,
    config: GrowthConfigDep,
    as_of: Annotated[str | None, Query(description="analysis day YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    reports, _ = await _experiments(redis, config, as_of)
    for report in reports:
        if report["experiment"] == name:
            return report
    raise Problem(404, "Unknown experiment", f"no assignments recorded for {name!r}")
