"""The read API and dashboard over the Redis projection (docs/design.md §6).

``create_app(settings, redis=None)`` builds the app; its lifespan opens a ``redis.asyncio`` client
on a ``BlockingConnectionPool`` unless one is given (then the caller owns and closes it). A blocking
pool waits for a free connection under load instead of failing (docs/measurements.md: redis-py's
plain asyncio pool raised ``MaxConnectionsError`` -> HTTP 500s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

from vitals.api.kafka_status import LagProbe
from vitals.api.page_cache import PageCache
from vitals.api.readiness import ProjectionReadiness
from vitals.api.routes import (
    alerts,
    at_risk,
    customers,
    destinations,
    growth,
    growth_ui,
    health,
    rules,
    segments,
    status,
    ui,
)
from vitals.growth.config_file import load_growth_config
from vitals.platform import keyspace as keys
from vitals.platform import problems
from vitals.platform.apikeys import ApiKeys
from vitals.platform.http_metrics import MetricsMiddleware, RequestMetrics
from vitals.platform.settings import Settings
from vitals.projector.connect import is_cluster
from vitals.projector.reader import CorruptRecord, ScoreReader

# Latency buckets in seconds: p99 ≈ 2 ms for Redis-backed reads at 1k req/s (docs/measurements.md),
# so the low end is fine-grained; the top catches the /v1/status Kafka round trips (timeout 3 s).
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# Connections per API process: one uvicorn worker rarely has more than a few dozen requests
# waiting on Redis at once; more connections only add server-side memory.
REDIS_MAX_CONNECTIONS = 64
# How long a request waits for a free connection before failing (then: 500 problem, logged).
REDIS_POOL_TIMEOUT_S = 5.0
# Per-command socket timeout: a Redis that stops answering must not hang requests forever.
REDIS_SOCKET_TIMEOUT_S = 5.0


log = logging.getLogger("vitals.api")
# A record this version cannot read stays so until an operator rebuilds: retry in a minute.
UNREADABLE_RETRY_AFTER_S = 60


async def _unreadable_record(request: Request, exc: Exception) -> Response:
    """A stored record of another format (written by an older Vitals, before an upgrade) or
    damaged: a 503 that says what fixes it, not a 500."""
    log.error("unreadable projection record on %s: %s", request.url.path, exc)
    return problems.problem(
        503,
        "Rebuild needed",
        f"{exc}. The score projection in Redis holds records this version cannot read (written "
        "by an older version, or damaged). Operators: run `vitals rebuild-redis`.",
        slug="rebuild-needed",
        headers={"Retry-After": str(UNREADABLE_RETRY_AFTER_S)},
    )


def make_redis(settings: Settings) -> Redis:
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_POOL_TIMEOUT_S,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
    )
    return Redis(connection_pool=pool)


def create_app(settings: Settings, redis: Redis | RedisCluster | None = None) -> FastAPI:
    """The API app. ``redis`` (bytes responses) is used as is and not closed; None = own pool."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client: Redis | RedisCluster
        if redis is not None:
            client = redis
        elif await is_cluster(settings.redis_url):
            # A cluster client keeps a pool per node (max_connections each); the projection's
            # reads work on it, the alert stores' multi-key commands are not cluster-ready yet.
            client = RedisCluster.from_url(
                settings.redis_url,
                max_connections=REDIS_MAX_CONNECTIONS,
                socket_timeout=REDIS_SOCKET_TIMEOUT_S,
            )
            await client.initialize()
        else:
            client = make_redis(settings)
        app.state.redis = client
        app.state.reader = ScoreReader(client)
        app.state.readiness = ProjectionReadiness(client)
        app.state.page_cache = cache = PageCache()
        follower = None
        if isinstance(client, Redis):  # no Pub/Sub on the cluster client: the cache stays off
            follower = asyncio.create_task(cache.follow(client, keys.changes_channel()))
        try:
            yield
        finally:
            if follower is not None:
                follower.cancel()
                with suppress(asyncio.CancelledError):
                    await follower
            if redis is None:
                await client.aclose()
                if isinstance(client, Redis):
                    await client.connection_pool.disconnect()

    app = FastAPI(
        title="Vitals API",
        summary="Customer temperature, health and churn risk, ranked lists and history.",
        version="1",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    # A broken VITALS_GROWTH_CONFIG fails here, at start-up, with the key and the problem named.
    app.state.growth_config = load_growth_config(settings.growth_config)
    # Malformed VITALS_API_KEYS fails here, at start-up, with the entry and the fix named.
    app.state.api_keys = ApiKeys.from_spec(settings.api_keys.get_secret_value())
    app.state.metrics = RequestMetrics("api", LATENCY_BUCKETS_S, CollectorRegistry())
    app.state.lag_probe = LagProbe(
        settings.kafka_bootstrap, settings.scorer_app_id, settings.topic_events
    )
    problems.install(app)
    app.add_exception_handler(CorruptRecord, _unreadable_record)
    for module in (customers, at_risk, segments, status, alerts, destinations, rules, health, ui):
        app.include_router(module.router)
    app.include_router(growth.router)
    app.include_router(growth_ui.router)
    app.mount("/ui/static", ui.static_files(), name="static")
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
