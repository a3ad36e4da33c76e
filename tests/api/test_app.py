from __future__ import annotations

from .conftest import ClientFactory


async def test_readyz_is_503_when_redis_is_down_healthz_stays_200(api: ClientFactory) -> None:
    async with api(redis_url="redis://127.0.0.1:1/0") as client:
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert health.status_code == 200


async def test_metrics_label_requests_by_route_template(api: ClientFactory) -> None:
    async with api() as client:
        await client.get("/v1/customers/a")
        await client.get("/v1/customers/b")
        text = (await client.get("/metrics")).text
    route = 'method="GET",route="/v1/customers/{customer_id}"'
    assert f'vitals_api_requests_total{{{route},status="404"}} 2.0' in text
    assert f"vitals_api_request_duration_seconds_count{{{route}}} 2.0" in text


async def test_dashboard_pages_and_docs_are_served(api: ClientFactory) -> None:
    async with api() as client:
        home = await client.get("/")
        ui = await client.get("/ui/")
        customer = await client.get("/ui/customers/acme")
        script = await client.get("/ui/static/customer.js")
        docs = await client.get("/docs")
        openapi = (await client.get("/openapi.json")).json()
    assert home.status_code == ui.status_code == 200 and "Most at risk" in home.text
    assert customer.status_code == 200 and "customer.js" in customer.text
    assert script.status_code == 200 and "historyChart" in script.text
    assert docs.status_code == 200
    assert {"/v1/at-risk", "/v1/customers/{customer_id}", "/v1/status"} <= set(openapi["paths"])
