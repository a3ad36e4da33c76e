"""FastAPI dependencies: what a route needs, as ``Annotated`` aliases so signatures read like prose.

Everything lives on ``app.state`` (built once by ``create_app``'s lifespan) and is handed to routes
here; nothing reads the environment or opens connections per request. Every dependency is
``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a thread hand-off per
dependency per request (measured: most of a list request's overhead over a minimal endpoint).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

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

T = TypeVar("T")


def _from_app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """Dependency: the ``kind`` object that ``create_app`` put on ``app.state.<name>``."""

    async def get(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    return get


# The alert stores are thin wrappers over the app's Redis client: built per request, they cost
# an attribute lookup, and share the client's connection pool.
def _store_over_redis(store: Callable[[Redis], T]) -> Callable[[Request], Awaitable[T]]:
    """Dependency: ``store`` built over the app's Redis client."""

    async def get(request: Request) -> T:
        return store(request.app.state.redis)

    return get


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


SettingsDep = Annotated[Settings, Depends(_from_app_state("settings", Settings))]
RedisDep = Annotated[Redis, Depends(_from_app_state("redis", Redis))]
ReaderDep = Annotated[ScoreReader, Depends(_from_app_state("reader", ScoreReader))]
PageCacheDep = Annotated[PageCache, Depends(_from_app_state("page_cache", PageCache))]
GrowthConfigDep = Annotated[GrowthConfig, Depends(_from_app_state("growth_config", GrowthConfig))]
LagProbeDep = Annotated[LagProbe, Depends(_from_app_state("lag_probe", LagProbe))]
DestinationsDep = Annotated[
    RedisDestinationStore, Depends(_store_over_redis(RedisDestinationStore))
]
AcksDep = Annotated[AckStore, Depends(_store_over_redis(AckStore))]
AlertHistoryDep = Annotated[AlertHistory, Depends(_store_over_redis(AlertHistory))]
DeliveryLogDep = Annotated[RedisDeliveryLog, Depends(_store_over_redis(RedisDeliveryLog))]
RulesStoreDep = Annotated[RulesStore, Depends(_store_over_redis(RulesStore))]
# Route-level dependency list for read endpoints: dependencies=[ReadAccess].
ReadAccess = Depends(require_scope(READ_SCOPE))
# For changes to alerting (destinations, rules): dependencies=[AdminAccess].
AdminAccess = Depends(require_scope(ADMIN_SCOPE))
