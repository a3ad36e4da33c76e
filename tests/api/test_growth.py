"""The growth endpoints over a seeded growth projection: funnel, groups, growth, experiments."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from .conftest import ClientFactory
from .growth_seed import MAR, event, seed


async def test_funnel_counts_entries_rates_and_lvr_per_month(
    api: ClientFactory, redis: Redis
) -> None:
    await seed(redis)
    async with api() as client:
        body = (await client.get("/v1/funnel", params={"budget": 900})).json()
    rows = {row["period"]: row for row in body["periods"]}
    assert list(rows) == ["2026-01", "2026-02", "2026-03"]
    assert rows["2026-01"]["entered"]["visitor"] == 2
    assert rows["2026-01"]["qualified"] == 1 and rows["2026-02"]["qualified"] == 1
    assert rows["2026-01"]["conversion"]["lead_mql"] == {
        "cohort_size": 2,
        "converted": 1,
        "rate": 0.5,
    }
    assert rows["2026-01"]["conversion"]["mql_customer"]["converted"] == 1
    assert rows["2026-02"]["lvr_pct"] == 0.0
    # The data ends early in March: March is in progress, so no LVR against whole February (it
    # would read -100 %), only its run rate; and it says how much of the month it covers.
    assert [rows[m]["partial"] for m in rows] == [False, False, True]
    assert rows["2026-03"]["lvr_pct"] is None
    assert rows["2026-03"]["lvr_run_rate_pct"] == -100.0
    assert rows["2026-03"]["days_in_period"] == 31
    assert rows["2026-03"]["days_covered"] == 10  # data up to March 10th
    assert rows["2026-02"]["lvr_run_rate_pct"] is None
    # Data up to March 3rd only: three days of a month are too few for a pace.
    async with api() as client:
        early = (await client.get("/v1/funnel", params={"until": "2026-03-03"})).json()
    march = early["periods"][-1]
    assert march["partial"] and march["days_covered"] == 3
    assert march["lvr_pct"] is None and march["lvr_run_rate_pct"] is None
    assert rows["2026-02"]["cost_per_sql"] == 900.0
    assert rows["2026-03"]["conversions_fast"] == 1
    assert body["current"]["customer"] == 1 and body["current"]["visitor"] == 1


async def test_funnel_period_cut_by_since_is_partial_and_not_a_base_for_lvr(
    api: ClientFactory, redis: Redis
) -> None:
    await seed(redis)
    async with api() as client:
        body = (await client.get("/v1/funnel", params={"since": "2026-01-20"})).json()
    rows = {row["period"]: row for row in body["periods"]}
    assert rows["2026-01"]["partial"] and rows["2026-01"]["days_covered"] == 12
    assert not rows["2026-02"]["partial"]
    # February is whole, but January (its base) is cut: no LVR, and no run rate either.
    assert rows["2026-02"]["lvr_pct"] is None and rows["2026-02"]["lvr_run_rate_pct"] is None


async def test_funnel_cohort_and_period_filters(api: ClientFactory, redis: Redis) -> None:
    await seed(redis)
    async with api() as client:
        feb = (await client.get("/v1/funnel", params={"cohort": "2026-02"})).json()
        quarter = (await client.get("/v1/funnel", params={"period": "quarter"})).json()
        bad = await client.get("/v1/funnel", params={"period": "fortnight"})
    assert sum(r["entered"]["visitor"] for r in feb["periods"]) == 1
    assert [r["period"] for r in quarter["periods"]] == ["2026-Q1"]
    assert quarter["periods"][0]["entered"]["mql"] == 2
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "days:N" in bad.json()["detail"]


async def test_budget_per_period_and_for_every_period(api: ClientFactory, redis: Redis) -> None:
    await seed(redis)
    async with api() as client:

        async def cost_per_sql(budget: str, period: str = "month") -> dict[str, float | None]:
            params = {"budget": budget, "period": period}
            body = (await client.get("/v1/funnel", params=params)).json()
            return {r["period"]: r["cost_per_sql"] for r in body["periods"]}

        # One SQL in February (lead-a), none in January or March.
        assert (await cost_per_sql("2026-02:450"))["2026-02"] == 450.0
        assert (await cost_per_sql("2026-01:999"))["2026-02"] is None
        assert (await cost_per_sql("300, 2026-02:450"))["2026-02"] == 450.0
        assert (await cost_per_sql("300,2026-01:10"))["2026-02"] == 300.0
        assert (await cost_per_sql("2026-Q1:600", "quarter"))["2026-Q1"] == 600.0
        for wrong, why in [
            ("2026-Q1:600", "not a month period label"),
            ("lots", "must be a number"),
            ("-5", "must be a finite number >= 0"),
            ("2026-02:1,2026-02:2", "names 2026-02 twice"),
            ("1,2", "two amounts"),
        ]:
            bad = await client.get("/v1/funnel", params={"budget": wrong})
            assert bad.status_code == 400, wrong
            assert why in bad.json()["detail"], (wrong, bad.json())


async def test_k_factor_with_a_cohort_counts_the_referrers_of_that_cohort(
    api: ClientFactory, redis: Redis
) -> None:
    # lead-c (February cohort), referred by lead-a (January cohort), buys in March.
    await seed(redis, event(20, "lead-c", "purchase", MAR, amount=80.0))

    async def march(**params: str) -> dict[str, object]:
        async with api() as client:
            body = (await client.get("/v1/growth", params=params)).json()
        return next(r for r in body["periods"] if r["period"] == "2026-03")

    everyone, referrers_cohort, referred_cohort = (
        await march(),
        await march(cohort="2026-01"),
        await march(cohort="2026-02"),
    )
    assert everyone["referred_customers"] == 1 and everyone["k_factor"] == 1.0
    assert referrers_cohort["referred_customers"] == 1 and referrers_cohort["k_factor"] == 1.0
    assert referred_cohort["referred_customers"] == 0 and referred_cohort["k_factor"] is None


async def test_reports_follow_the_tenants_growth_config(
    api: ClientFactory, redis: Redis, tmp_path: Path
) -> None:
    config = tmp_path / "growth.toml"
    config.write_text(
        'activation_event = "onboarding.done"\nprice_threshold = 250.0\n'
        '[experiments.nurture-drip]\ngoal = "revenue"\nhorizon_days = 7\n'
    )
    await seed(redis)
    async with api(growth_config=config) as client:
        growth = (await client.get("/v1/growth")).json()
        groups = (await client.get("/v1/groups")).json()
        drip = (await client.get("/v1/experiments/nurture-drip")).json()
    assert growth["activation_event"] == "onboarding.done"
    assert groups["thresholds"]["unit_price"] == 250.0
    assert drip["goal"] == "revenue"


async def test_groups_growth_and_experiments(api: ClientFactory, redis: Redis) -> None:
    await seed(redis)
    async with api() as client:
        groups = (await client.get("/v1/groups")).json()
        growth = (await client.get("/v1/growth")).json()
        experiments = (await client.get("/v1/experiments")).json()
        one = await client.get("/v1/experiments/nurture-drip")
        missing = await client.get("/v1/experiments/nope")
    assert groups["current"] == {"A": 2, "B": 0, "C": 0, "D": 1, "E": 0}
    march = next(r for r in groups["periods"] if r["period"] == "2026-03")
    assert march["flows"] == {"AD": 1} and march["sizes"]["D"] == 1
    assert [r["aarrr"]["acquisition"] for r in growth["periods"]] == [2, 1, 0]
    assert growth["periods"][2]["aarrr"]["revenue"] == 1
    assert experiments["experiments"][0]["arms"]["treatment"]["units"] == 1
    assert one.status_code == 200 and one.json()["goal"] == "converted"
    assert missing.status_code == 404


async def test_growth_page_is_served(api: ClientFactory) -> None:
    async with api() as client:
        page = await client.get("/ui/growth")
        script = await client.get("/ui/static/growth.js")
    assert page.status_code == 200 and "growth.js" in page.text
    assert script.status_code == 200 and "/v1/funnel" in script.text
