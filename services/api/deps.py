"""FastAPI dependencies: what a route needs, as ``Annotated`` aliases so signatures read like prose.

Everything lives on ``app.state`` (built once by ``create_app``'s lifespan) and is handed to routes
here; nothing reads the environment or opens connections per request. Every dependency is
``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a thread hand-off per
dependency per request (measured: most of a list request's overhead over a minimal endpoint).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from vitals.api.kafka_status import LagProbe
from vitals.api.page_cache import PageCache
from vitals.growth.config import GrowthConfig
from vitals.notifier.acks import AckStore
from vitals.notifier.delivery_log import RedisDeliveryLog
from vitals.notifier.destinations import RedisDestinationStore
from vitals.notifier.history import AlertHistory
from vitals.notifier.rules_store import RulesStore
from vitals.platform.apikeys import ADMIN_SCOPE, READ_SCOPE, ApiKeys, presented_key
from vitals.platform.problems import Problem
from vitals.platform.settings import Settings
from vitals.projector.reader import ScoreReader


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


async def get_reader(request: Request) -> ScoreReader:
    reader: ScoreReader = request.app.state.reader
    return reader


async def get_growth_config(request: Request) -> GrowthConfig:
    config: GrowthConfig = request.app.state.growth_config
    return config


async def get_page_cache(request: Request) -> PageCache:
    cache: PageCache = request.app.state.page_cache
    return cache


async def get_lag_probe(request: Request) -> LagProbe:
    probe: LagProbe = request.app.state.lag_probe
    return probe


# The alert stores are thin wrappers over the app's Redis client: built per request, they cost
# an attribute lookup, and share the client's connection pool.
async def get_destinations(request: Request) -> RedisDestinationStore:
    return RedisDestinationStore(request.app.state.redis)


async def get_acks(request: Request) -> AckStore:
    return AckStore(request.app.state.redis)


async def get_alert_history(request: Request) -> AlertHistory:
    return AlertHistory(request.app.state.redis)


async def get_delivery_log(request: Request) -> RedisDeliveryLog:
    return RedisDeliveryLog(request.app.state.redis)


async def get_rules_store(request: Request) -> RulesStore:
    return RulesStore(request.app.state.redis)


def require_scope(scope: str) -> Callable[[Request], Awaitable[None]]:
    """Dependency: the request carries a key with ``scope`` (or admin); open when no keys are set.

    401 = no key or an unknown key (send one); 403 = a valid key without the scope.
    """

    async def check(request: Request) -> None:
        keys: ApiKeys = request.app.state.api_keys
        if not keys.enabled:
            return
        headers = request.headers
        access = keys.check(
            presented_key(headers.get("authorization"), headers.get("x-api-key")), scope
        )
        if access == "ok":
            return
        if access == "missing":
            raise Problem(
                401,
                "API key required",
                "send your key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if access == "unknown":
            raise Problem(
                401,
                "Unknown API key",
                "this key is not configured; check VITALS_API_KEYS",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise Problem(403, "Missing scope", f"this key lacks the '{scope}' scope")

    return check


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
ReaderDep = Annotated[ScoreReader, Depends(get_reader)]
PageCacheDep = Annotated[PageCache, Depends(get_page_cache)]
GrowthConfigDep = Annotated[GrowthConfig, Depends(get_growth_config)]
LagProbeDep = Annotated[LagProbe, Depends(get_lag_probe)]
DestinationsDep = Annotated[RedisDestinationStore, Depends(get_destinations)]
AcksDep = Annotated[AckStore, Depends(get_acks)]
AlertHistoryDep = Annotated[AlertHistory, Depends(get_alert_history)]
DeliveryLogDep = Annotated[RedisDeliveryLog, Depends(get_delivery_log)]
RulesStoreDep = Annotated[RulesStore, Depends(get_rules_store)]
# Route-level dependency list for read endpoints: dependencies=[ReadAccess].
ReadAccess = Depends(require_scope(READ_SCOPE))
# For changes to alerting (destinations, rules): dependencies=[AdminAccess].
AdminAccess = Depends(require_scope(ADMIN_SCOPE))
