"""Worklist page timing with 500 stays: p50 and p95 of GET /app/worklist, against the JSON API's p50.

    .venv/bin/python bench/pages.py [--stays 500] [--runs 60]

Uses DATABASE_URL when set (an empty database: the demo is loaded into it), else a temporary
SQLite file. The demo's 25 inpatients are topped up to ``--stays`` with similar stays (own
handoffs, some overdue, barriers, readiness) through the use cases. Requests go through Flask's
test client, so the figures are server time only. The baseline is GET /api/worklist for the same
page size, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service import clock  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine, make_session_factory  # noqa: E402
from service.demo import DEMO_PASSWORD, UNITS, load_demo  # noqa: E402
from service.models import Organization, User  # noqa: E402
from service.usecases import handoffs, patients, stays  # noqa: E402

DEMO_STAYS = 25


def top_up(settings: Settings, count: int) -> None:
    """Add ``count`` active stays to the demo hospital, for dana.planner, spread over a week."""
    engine = make_engine(settings.database_url)
    now = clock.now()
    with make_session_factory(engine)() as db:
        hospital = db.query(Organization).filter_by(kind="hospital").one()
        planner = db.query(User).filter_by(username="dana.planner").one()
        for i in range(count):
            patient = patients.register_patient(db, family_name=f"Bench-{i:04d}", given_name="Pat", actor="bench")
            stay = stays.admit(
                db,
                patient_id=patient.id,
                hospital_id=hospital.id,
                admitted_at=now - timedelta(days=2 + i % 5),
                unit=UNITS[i % len(UNITS)],
                bed=f"{i % 40}A",
                planner_id=planner.id,
                expected_discharge_date=(now + timedelta(days=i % 7)).date(),
                medically_ready_date=(now - timedelta(days=i % 3)).date(),
                actor="bench",
            )
            stays.set_readiness(db, stay.id, "transport", met=i % 2 == 0, actor="bench")
            if i % 3 == 0:
                stays.open_barrier(db, stay.id, category="transport", note="Van needed", actor="bench")
            handoffs.create_handoff(
                db,
                actor="bench",
                patient_id=patient.id,
                stay_id=stay.id,
                kind="transport",
                owner_org_id=hospital.id,
                requester_org_id=hospital.id,
                due_at=now + timedelta(hours=(i % 8) - 4),  # half of them overdue
            )
    engine.dispose()


def timings(get: Callable[[], Any], runs: int) -> list[float]:
    get()  # warm-up: template compilation, connection pool
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = get()
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return samples


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stays", type=int, default=500)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url, celery_eager=True)  # the outbox relay runs inline, no broker
        started = time.perf_counter()
        load_demo(settings, stays=DEMO_STAYS)
        top_up(settings, args.stays - DEMO_STAYS)
        print(f"demo + {args.stays - DEMO_STAYS} more stays loaded in {time.perf_counter() - started:.1f} s")
        client = create_app(settings).test_client()
        signin = client.get("/app/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', signin)
        assert token is not None
        client.post(
            "/app/signin", data={"csrf_token": token.group(1), "username": "dana.planner", "password": DEMO_PASSWORD}
        )
        page = timings(lambda: client.get("/app/worklist"), args.runs)
        fragment = timings(lambda: client.get("/app/worklist/table"), args.runs)
        sorted_page = timings(lambda: client.get("/app/worklist?sort=avoidable&dir=desc"), args.runs)
        api = timings(lambda: client.get("/api/worklist?limit=25&tz=America/New_York"), args.runs)
    api_p50 = statistics.median(api)
    print(f"{args.stays} stays, {args.runs} runs each ({url.split(':')[0]})")
    for name, samples in (
        ("GET /app/worklist", page),
        ("GET /app/worklist/table (htmx refresh)", fragment),
        ("GET /app/worklist?sort=avoidable (all rows sorted)", sorted_page),
    ):
        p50, p95 = statistics.median(samples), percentile(samples, 95)
        print(f"{name:52} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  p50/API p50 {p50 / api_p50:5.2f}x")
    print(f"{'GET /api/worklist (baseline)':52} p50 {api_p50 * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
