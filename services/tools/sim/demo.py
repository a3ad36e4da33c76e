"""``vitals demo``: the whole system on one machine, fed by a simulated customer base.

1. Bring up the local stack (Kafka + Redis, ``vitals.tools.stackctl``) and create the topics.
2. Start ``vitals ingest``, ``vitals scorer`` (wall clock), ``vitals projector``, ``vitals api`` and
   ``vitals notifier``
   as child processes (logs in ``<data_dir>/logs``) and wait until each answers.
3. Stream a simulated SaaS + purchases population through the ingest API (``POST /v1/batch``):
   first ~90 days of history ending now, as fast as ingest takes it; then the population's future,
   compressed, with every event stamped with the current time, at ``--rate`` events/s, forever.
   Every ~10 s print the top of ``GET /v1/at-risk``.
Ctrl-C (or ``--duration``) stops the children; the stack stays up (``vitals stack down``).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import httpx
from tqdm import tqdm

from vitals.platform.apikeys import ADMIN_SCOPE, INGEST_SCOPE, READ_SCOPE, parse_api_keys
from vitals.platform.settings import Settings
from vitals.tools.sim.children import (
    Child,
    ChildFailed,
    service_specs,
    start_child,
    stop_children,
    wait_healthy,
)
from vitals.tools.sim.generator import Simulation, simulate
from vitals.tools.sim.growth import demo_feeds, merge_by_time

HISTORY_DAYS = 90
# The simulated future streamed live; at the default rate a year lasts many hours, and when it
# runs out a new one is simulated (new event ids, same customer ids).
FUTURE_DAYS = 365
# Events per POST: ingest takes up to 1,000; 200 keeps each request ~50 KB and the pipeline busy.
BATCH_SIZE = 200
# The demo population is smaller and quieter than a backtest's so the history loads in seconds.
DEMO_USAGE_SCALE = 0.5
# Everyone signs up during the history's first two months, so the dashboard starts full.
DEMO_SIGNUP_DAYS = 60
DEFAULT_CUSTOMERS = 300
DEFAULT_RATE = 20.0  # events/s live: about one simulated day every ~15 s at the defaults
TOP_EVERY_S = 10.0
TOP_N = 5
LIVE_TICK_S = 0.5
# Ingest answers 503 + Retry-After when Kafka does not take a write; connection errors while a
# child restarts: retry the same batch (event ids make resends harmless) at most this long.
RETRY_BUDGET_S = 60.0
DEFAULT_RETRY_S = 1.0
HTTP_TIMEOUT_S = 30.0


def _key_for(settings: Settings, scope: str) -> str | None:
    """A configured API key carrying ``scope`` (or admin); None when the API is open (dev)."""
    keys = parse_api_keys(settings.api_keys.get_secret_value())
    if not keys:
        return None
    for key, scopes in keys.items():
        if scope in scopes or ADMIN_SCOPE in scopes:
            return str(key)
    raise click.ClickException(
        f"VITALS_API_KEYS has no key with the {scope!r} scope the demo needs"
    )


def _headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DemoFeed:
    """Posts batches to ingest and reads the at-risk list from the API."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.client = client
        self.batch_url = f"http://{settings.ingest_host}:{settings.ingest_port}/v1/batch"
        self.at_risk_url = f"http://{settings.api_host}:{settings.api_port}/v1/at-risk"
        self.ingest_headers = _headers(_key_for(settings, INGEST_SCOPE))
        self.read_headers = _headers(_key_for(settings, READ_SCOPE))
        self.sent = 0
        self.rejected = 0

    async def post(self, batch: list[dict[str, Any]]) -> None:
        """Send one batch, retrying 503s and connection errors within ``RETRY_BUDGET_S``."""
        deadline = time.monotonic() + RETRY_BUDGET_S
        while True:
            try:
                response = await self.client.post(
                    self.batch_url, json={"batch": batch}, headers=self.ingest_headers
                )
            except httpx.TransportError as err:
                wait, problem = DEFAULT_RETRY_S, f"{type(err).__name__}: {err}"
            else:
                if response.status_code == 200:
                    body = response.json()
                    self.sent += int(body.get("accepted", 0))
                    rejected = body.get("rejected") or []
                    if rejected and not self.rejected:
                        tqdm.write(f"ingest rejected an event: {rejected[0]}")
                    self.rejected += len(rejected)
                    return
                if response.status_code != 503:
                    raise click.ClickException(
                        f"ingest answered {response.status_code}: {response.text[:500]}"
                    )
                wait = float(response.headers.get("Retry-After", DEFAULT_RETRY_S))
                problem = "503 (Kafka did not take the write)"
            if time.monotonic() + wait > deadline:
                raise click.ClickException(f"ingest at {self.batch_url} kept failing: {problem}")
            await asyncio.sleep(wait)

    async def top(self, limit: int = TOP_N) -> list[dict[str, Any]]:
        response = await self.client.get(
            self.at_risk_url, params={"limit": limit}, headers=self.read_headers
        )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json().get("items", [])
        return items


def format_top(items: list[dict[str, Any]]) -> str:
    if not items:
        return "  (no scores yet)"
    lines = []
    for item in items:
        name = (item.get("profile") or {}).get("name") or item.get("customer_id")
        health = (item.get("health") or {}).get("value")
        lines.append(
            f"  {name:<28} risk {item['risk']['value']:5.1f}  "
            f"temperature {item['temperature']['value']:5.1f}  "
            f"health {'  -  ' if health is None else f'{health:5.1f}'}  "
            f"{item.get('quadrant') or ''}"
        )
    return "\n".join(lines)


def _live_events(
    first: Simulation, customers: int, seed: int, run_id: str, now: datetime
) -> Iterator[dict[str, Any]]:
    """The simulated future after ``now``, generation after generation (never ends)."""
    yield from first.iter_events(since=now)
    generation = 1
    while True:
        sim = simulate(
            customers,
            now - timedelta(days=HISTORY_DAYS),
            HISTORY_DAYS + FUTURE_DAYS,
            seed + generation,
            "mixed",
            usage_scale=DEMO_USAGE_SCALE,
            id_prefix=f"{run_id}g{generation}",
            signup_days=DEMO_SIGNUP_DAYS,
        )
        yield from sim.iter_events(since=now)
        generation += 1


async def stream(
    settings: Settings, customers: int, rate: float, seed: int, stop_at: float | None
) -> None:
    """History up to now as fast as ingest takes it, then live events at ``rate``/s to stop_at."""
    now = datetime.now(UTC).replace(microsecond=0)
    run_id = f"demo{int(now.timestamp())}"
    sim = simulate(
        customers,
        now - timedelta(days=HISTORY_DAYS),
        HISTORY_DAYS + FUTURE_DAYS,
        seed,
        "mixed",
        usage_scale=DEMO_USAGE_SCALE,
        id_prefix=f"{run_id}g0",
        signup_days=DEMO_SIGNUP_DAYS,
    )
    # Leads, referrals and the nurture experiment (vitals.tools.sim.growth), merged into both feeds.
    leads, future_leads = demo_feeds(now.timestamp(), FUTURE_DAYS, seed, f"{run_id}l")
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
        feed = DemoFeed(settings, client)
        total = sim.count_events(until=now) + len(leads)
        click.echo(f"history: {total:,} events of {customers} customers over {HISTORY_DAYS} days")
        batch: list[dict[str, Any]] = []
        with tqdm(total=total, unit="ev", desc="history") as bar:
            for event in merge_by_time(sim.iter_events(until=now), leads):
                batch.append(event)
                if len(batch) == BATCH_SIZE:
                    await feed.post(batch)
                    bar.update(len(batch))
                    batch = []
                if stop_at is not None and time.monotonic() >= stop_at:
                    return
            if batch:
                await feed.post(batch)
                bar.update(len(batch))
        click.echo(f"history sent ({feed.rejected} rejected). Dashboard: {settings.public_url}")
        click.echo(f"live: {rate:g} events/s with current timestamps; Ctrl-C to stop")
        live = merge_by_time(_live_events(sim, customers, seed, run_id, now), future_leads)
        await _live(feed, live, rate, stop_at)


async def _live(
    feed: DemoFeed, events: Iterator[dict[str, Any]], rate: float, stop_at: float | None
) -> None:
    started = time.monotonic()
    sent = 0
    next_top = started
    while stop_at is None or time.monotonic() < stop_at:
        due = int((time.monotonic() - started) * rate) - sent
        batch = []
        for _ in range(max(0, due)):
            event = next(events)
            event["timestamp"] = _now_iso()
            batch.append(event)
        for lo in range(0, len(batch), BATCH_SIZE):
            await feed.post(batch[lo : lo + BATCH_SIZE])
        sent += len(batch)
        if time.monotonic() >= next_top:
            next_top += TOP_EVERY_S
            try:
                top = format_top(await feed.top())
            except httpx.HTTPError as err:
                top = f"  (at-risk list unavailable: {err})"
            click.echo(f"[{_now_iso()}] {feed.sent:,} events accepted; most at risk:\n{top}")
        await asyncio.sleep(LIVE_TICK_S)


async def _bring_up(settings: Settings, no_stack: bool) -> None:
    """Start Kafka + Redis (which also creates the topics), or only make sure the topics exist."""
    if no_stack:
        from vitals.platform.topics import ensure_topics

        await ensure_topics(settings)
        return
    from vitals.tools.stackctl import StackError, stack_up  # imported only when used

    click.echo("starting the local stack (Kafka + Redis)...")
    try:
        await asyncio.to_thread(stack_up, settings)
    except StackError as err:
        raise click.ClickException(str(err)) from err


async def _run(
    settings: Settings,
    customers: int,
    rate: float,
    seed: int,
    duration: float | None,
    no_stack: bool,
    no_services: bool,
) -> None:
    stop_at = None if duration is None else time.monotonic() + duration
    # A SIGTERM (e.g. from a test harness) must stop the children too, like Ctrl-C does.
    main_task = asyncio.current_task()
    if main_task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    await _bring_up(settings, no_stack)
    children: list[Child] = []
    try:
        if not no_services:
            for spec in service_specs(settings):
                child = start_child(spec, settings)
                children.append(child)
                await wait_healthy(child)
                click.echo(f"{spec.name} is up (log: {child.log_path})")
        await stream(settings, customers, rate, seed, stop_at)
    finally:
        if children:
            click.echo("stopping the services...")
            stop_children(children)
        if not no_stack:
            click.echo("the stack is still running: `vitals stack down` stops it")


@click.command("demo")
@click.option(
    "--customers", type=click.IntRange(min=1), default=DEFAULT_CUSTOMERS, show_default=True
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_RATE,
    show_default=True,
    help="Live events per second after the history.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--duration",
    type=click.FloatRange(min=0),
    help="Stop after this many seconds (default: run until Ctrl-C).",
)
@click.option(
    "--no-stack", is_flag=True, help="Use Kafka and Redis already running (and their topics)."
)
@click.option(
    "--no-services",
    is_flag=True,
    help="Use ingest/scorer/projector/api/notifier already running; only stream.",
)
def demo(
    customers: int,
    rate: float,
    seed: int,
    duration: float | None,
    no_stack: bool,
    no_services: bool,
) -> None:
    """Bring up the whole stack and stream a simulated customer base into it."""
    # The demo shows the growth page too (the agent is off by default: see Settings).
    settings = Settings(growth_enabled=True)
    click.echo(f"dashboard: {settings.public_url}  (data and logs in {settings.data_dir})")
    try:
        asyncio.run(_run(settings, customers, rate, seed, duration, no_stack, no_services))
    except KeyboardInterrupt:
        click.echo("stopped")
    except ChildFailed as err:
        raise click.ClickException(str(err)) from err
