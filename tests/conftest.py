"""Fixtures shared by every test: a real Kafka + Redis for the session, an isolated world per test.

- ``stack`` (session): starts Kafka and Redis on test ports (29092/29093, 26379; data in
  <repo>/.vitals-test) through ``vitals.tools.stackctl`` and returns their ``Settings``. It
  FAILS, naming the logs, when they cannot start: integration tests are never skipped. Ports and
  data dir can be moved with VITALS_TEST_KAFKA_PORT, VITALS_TEST_KAFKA_CONTROLLER_PORT,
  VITALS_TEST_REDIS_PORT and VITALS_TEST_DATA_DIR. Stopped at session end unless
  VITALS_KEEP_STACK=1 (saves ~5 s per run while developing) or another pytest session (another
  engineer, another terminal) still uses it: sessions take a lease on the stack.
- ``settings`` (function): a ``Settings`` of its own for each test: unique topic names (created,
  and deleted after the test), a unique scorer_app_id, data_dir under tmp_path, and a Redis
  database (1..15) held by this test alone and flushed before it.

Tests using ``stack`` (directly or through ``settings``) get the ``integration`` marker.
Both fixtures are sync, so sync and async tests use them alike.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
import redis

from vitals.platform.settings import Settings
from vitals.platform.topics import delete_topics, ensure_topics, list_topics
from vitals.tools.stackctl import StackError, run_blocking, stack_down, stack_up

REPO_DIR = Path(__file__).resolve().parent.parent
TEST_DATA_DIR = Path(os.environ.get("VITALS_TEST_DATA_DIR", REPO_DIR / ".vitals-test")).resolve()
# Off the dev stack's ports (19092/19093/16379) so tests never touch a developer's data.
TEST_KAFKA_PORT = int(os.environ.get("VITALS_TEST_KAFKA_PORT", "29092"))
TEST_KAFKA_CONTROLLER_PORT = int(os.environ.get("VITALS_TEST_KAFKA_CONTROLLER_PORT", "29093"))
TEST_REDIS_PORT = int(os.environ.get("VITALS_TEST_REDIS_PORT", "26379"))
# Database 0 is left to manual poking; 1..15 are handed to tests, one test each at a time.
TEST_REDIS_DBS = tuple(range(1, 16))
# How long a test waits for a free Redis database when 15 tests (other sessions) hold them all.
REDIS_DB_WAIT_S = 120.0
# Environment that may reach the tests; every other VITALS_* is dropped so that a developer's
# shell (VITALS_KAFKA_BOOTSTRAP, VITALS_PARTITIONS, ...) cannot change what the tests see.
KEPT_ENV = {"VITALS_KEEP_STACK", "VITALS_CACHE_DIR", "VITALS_STACK_TIMEOUT", "VITALS_KAFKA_HEAP"}


def pytest_configure(config: pytest.Config) -> None:
    for name in list(os.environ):
        if (
            name.startswith("VITALS_")
            and name not in KEPT_ENV
            and not name.startswith("VITALS_TEST_")
        ):
            del os.environ[name]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@contextmanager
def _locked(path: Path, *, blocking: bool = True) -> Iterator[IO[str] | None]:
    """An exclusive flock on ``path``; yields None when not ``blocking`` and it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stack_settings() -> Settings:
    return Settings(
        kafka_port=TEST_KAFKA_PORT,
        kafka_controller_port=TEST_KAFKA_CONTROLLER_PORT,
        redis_port=TEST_REDIS_PORT,
        data_dir=TEST_DATA_DIR,
        kafka_bootstrap=f"127.0.0.1:{TEST_KAFKA_PORT}",
        redis_url=f"redis://127.0.0.1:{TEST_REDIS_PORT}/0",
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """The running test stack (Kafka + Redis), shared by the session; its ``Settings``."""
    settings = _stack_settings()
    leases = TEST_DATA_DIR / "sessions"
    lease = leases / str(os.getpid())
    with _locked(TEST_DATA_DIR / ".sessions.lock"):
        try:
            stack_up(settings, create_topics=False)
        except StackError as exc:
            pytest.fail(f"the test stack did not start:\n{exc}", pytrace=False)
        leases.mkdir(parents=True, exist_ok=True)
        lease.write_text(str(time.time()))
    try:
        yield settings
    finally:
        with _locked(TEST_DATA_DIR / ".sessions.lock"):
            lease.unlink(missing_ok=True)
            others = []
            for other in leases.iterdir():
                if other.name.isdigit() and _pid_alive(int(other.name)):
                    others.append(other.name)
                else:
                    other.unlink(missing_ok=True)
            if not others and os.environ.get("VITALS_KEEP_STACK") != "1":
                stack_down(settings)


class _RedisDbPool:
    """Hands each test a Redis database no other test (in any session) holds, by flock per db."""

    def __init__(self, lock_dir: Path) -> None:
        self._lock_dir = lock_dir
        self._next = 0

    @contextmanager
    def acquire(self) -> Iterator[int]:
        deadline = time.monotonic() + REDIS_DB_WAIT_S
        while True:
            for step in range(len(TEST_REDIS_DBS)):
                db = TEST_REDIS_DBS[(self._next + step) % len(TEST_REDIS_DBS)]
                with _locked(self._lock_dir / f"{db}.lock", blocking=False) as held:
                    if held is None:
                        continue
                    self._next = (self._next + step + 1) % len(TEST_REDIS_DBS)
                    yield db
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no free test Redis database in {REDIS_DB_WAIT_S:.0f} s")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def _redis_db_pool(stack: Settings) -> _RedisDbPool:
    return _RedisDbPool(TEST_DATA_DIR / "redis-db-locks")


@pytest.fixture
def settings(stack: Settings, _redis_db_pool: _RedisDbPool, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one test: own topics (created), scorer app id, data dir, empty Redis db."""
    suffix = uuid.uuid4().hex[:8]
    with _redis_db_pool.acquire() as db:
        redis_url = f"redis://127.0.0.1:{stack.redis_port}/{db}"
        client = redis.Redis.from_url(redis_url)
        try:
            client.flushdb()
        finally:
            client.close()
        data_dir = tmp_path / "vitals-data"
        data_dir.mkdir()
        fields = stack.model_dump()
        fields.update(
            topic_events=f"{stack.topic_events}-{suffix}",
            topic_scores=f"{stack.topic_scores}-{suffix}",
            topic_alerts=f"{stack.topic_alerts}-{suffix}",
            topic_events_dead=f"{stack.topic_events_dead}-{suffix}",
            topic_alerts_dead=f"{stack.topic_alerts_dead}-{suffix}",
            scorer_app_id=f"vitals-scorer-{suffix}",
            data_dir=data_dir,
            redis_url=redis_url,
        )
        test_settings = Settings(**fields)
        run_blocking(lambda: ensure_topics(test_settings))
        yield test_settings
        # The topics (and any a Faust app made, named after scorer_app_id) go, so hundreds of tests
        # do not leave thousands of partitions on the session's broker.
        run_blocking(lambda: _delete_topics_with(test_settings, suffix))


async def _delete_topics_with(settings: Settings, suffix: str) -> None:
    await delete_topics(settings, [name for name in await list_topics(settings) if suffix in name])
