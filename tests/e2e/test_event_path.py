"""The whole event path on the real broker and Redis: HTTP or Kafka in, API and dead letters out."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
import pytest

from vitals.platform.settings import Settings

from .conftest import EventFactory
from .kafka_io import event_records, produce, read_all
from .services import await_for, free_port, running, with_api_port

pytestmark = pytest.mark.integration


def with_ports(settings: Settings) -> Settings:
    settings, _ = with_api_port(settings, ingest_port=free_port())
    return settings


async def test_events_posted_over_http_reach_the_api_through_kafka_scorer_and_redis(
    settings: Settings, make_event: EventFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = with_ports(settings)
    ingest_url = f"http://127.0.0.1:{settings.ingest_port}"
    api_url = f"http://127.0.0.1:{settings.api_port}"
    now = time.time()
    batch = []
    for n, (cid, owner, uses) in enumerate(
        [("acme", "dana", 12), ("globex", "li", 1), ("initech", "dana", 4)]
    ):
        batch.append(
            make_event(
                cid,
                "profile",
                now - 40 * 86400,
                properties={"owner": owner, "segment": "smb", "seats": 10, "name": cid.title()},
            )
        )
        batch.append(
            make_event(cid, "subscription", now - 40 * 86400, name="started", amount=100.0 + n)
        )
        batch += [
            make_event(cid, "usage", now - 40 * 86400 + d * 86400 * 3, user_id=f"u{d % 3}")
            for d in range(uses)
        ]
    batch.append(
        {"event_id": "broken", "customer_id": "acme", "type": "usage", "timestamp": "yesterday"}
    )

    with (
        running("scorer", ["scorer", "--loglevel", "warn"], settings, tmp_path),
        running("projector", ["projector"], settings, tmp_path),
        running("ingest", ["ingest"], settings, tmp_path, f"{ingest_url}/healthz"),
        running("api", ["api"], settings, tmp_path, f"{api_url}/healthz"),
    ):
        async with httpx.AsyncClient(timeout=10.0) as client:
            posted_at = time.monotonic()
            response = await client.post(f"{ingest_url}/v1/batch", json={"batch": batch})
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["accepted"] == len(batch) - 1
            assert [r["index"] for r in body["rejected"]] == [len(batch) - 1]
            assert "timestamp" in body["rejected"][0]["error"]

            async def acme_scored() -> dict | None:
                r = await client.get(f"{api_url}/v1/customers/acme")
                if r.status_code != 200:
                    return None
                snapshot = r.json()
                return snapshot if snapshot["stats"]["usage_events"] == 12 else None

            snapshot = await await_for(acme_scored, timeout=90, what="acme's snapshot in the API")
            latency = time.monotonic() - posted_at
            assert snapshot["profile"]["owner"] == "dana"
            assert snapshot["temperature"]["model"] == "sbg"
            assert 0 <= snapshot["risk"]["value"] <= 100

            async def all_ranked() -> list | None:
                r = await client.get(f"{api_url}/v1/at-risk", params={"limit": 10})
                items = r.json()["items"]
                return items if len(items) == 3 else None

            items = await await_for(all_ranked, timeout=30, what="three customers ranked")
            risks = [item["risk"]["value"] for item in items]
            assert risks == sorted(risks, reverse=True)
            # Globex used the product once, 40 days ago: paying but not using ranks above acme.
            ids = [item["customer_id"] for item in items]
            assert ids.index("globex") < ids.index("acme")
            # Steady state: one more event, from the POST to the API answering with it.
            latencies = []
            for n in range(5):
                extra = make_event("acme", "usage", time.time(), user_id="u9")
                sent = time.monotonic()
                response = await client.post(f"{ingest_url}/v1/batch", json={"batch": [extra]})
                assert response.json()["accepted"] == 1

                async def counted(expected: int = 13 + n) -> bool:
                    r = await client.get(f"{api_url}/v1/customers/acme")
                    return r.json()["stats"]["usage_events"] == expected

                await await_for(
                    counted, timeout=30, interval=0.01, what="the extra event in the API"
                )
                latencies.append(time.monotonic() - sent)
            dana = (await client.get(f"{api_url}/v1/at-risk", params={"owner": "dana"})).json()[
                "items"
            ]
            assert {item["customer_id"] for item in dana} == {"acme", "initech"}
            assert (await client.get(f"{api_url}/v1/customers/nobody")).status_code == 404
    with capsys.disabled():
        print(
            f"\n[e2e] HTTP POST -> visible in the API: first batch {latency * 1000:.0f} ms "
            f"(includes scorer start-up); single events: "
            + ", ".join(f"{x * 1000:.0f}" for x in latencies)
            + " ms"
        )


async def test_direct_producers_get_dead_letters_and_resends_count_once(
    settings: Settings, make_event: EventFactory, tmp_path: Path
) -> None:
    now = time.time()
    usage = [make_event("dup-co", "usage", now - 3600 * (5 - i)) for i in range(3)]
    records = event_records(usage)
    records.append(records[1])  # the same event_id sent again, at a new offset
    records.append(
        (
            b"dup-co",
            orjson.dumps(
                {"event_id": "x1", "customer_id": "dup-co", "timestamp": usage[0]["timestamp"]}
            ),
        )
    )
    records.append((b"dup-co", b"\x00not json at all"))
    with running("scorer", ["scorer", "--loglevel", "warn"], settings, tmp_path):
        await produce(settings, records)

        async def scored() -> dict | None:
            snapshots = [
                v for k, v in await read_all(settings, settings.topic_scores) if k == b"dup-co"
            ]
            last = snapshots[-1] if snapshots else None
            return last if last and last["stats"]["duplicates"] == 1 else None

        snapshot = await await_for(
            scored, timeout=90, what="dup-co's snapshot with the resend counted"
        )
        assert snapshot["stats"]["usage_events"] == 3
        assert snapshot["stats"]["events"] == 3

        async def dead() -> list | None:
            letters = [v for _, v in await read_all(settings, settings.topic_events_dead)]
            return letters if len(letters) >= 2 else None

        letters = await await_for(dead, timeout=30, what="two dead letters")
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(letters) == 2
    assert reasons[0].startswith("not JSON")
    assert reasons[1] == "type: required"
    assert all(letter["source"]["topic"] == settings.topic_events for letter in letters)
