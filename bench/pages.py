"""Page timing with 500 stays: p50 and p95 of the worklist, a case and a facility's queue, against the JSON API's p50.

    .venv/bin/python bench/pages.py [--stays 500] [--runs 60]

Uses DATABASE_URL when set (an empty database: the demo is loaded into it), else a temporary
SQLite file. The demo's 25 inpatients are topped up to ``--stays`` with similar stays (own
handoffs, some overdue, barriers, readiness; every tenth referred to one SNF, whose queue is
timed) through the use cases. Requests go through Flask's test client, so the figures are server
time only. The baseline is GET /api/worklist for the same page size, measured in the same run.
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

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service import clock  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine, make_session_factory  # noqa: E402
from service.demo import DEMO_PASSWORD, UNITS, load_demo  # noqa: E402
from service.models import Handoff, Organization, User  # noqa: E402
from service.usecases import handoffs, patients, referrals, stays  # noqa: E402

DEMO_STAYS = 25
QUEUE_FACILITY = "Maple Grove Skilled Nursing"


def top_up(settings: Settings, count: int) -> None:
    """Add ``count`` active stays to the demo hospital, for dana.planner, spread over a week."""
    engine = make_engine(settings.database_url)
    now = clock.now()
    with make_session_factory(engine)() as db:
        hospital = db.query(Organization).filter_by(kind="hospital").one()
        facility = db.query(Organization).filter_by(name=QUEUE_FACILITY).one()
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
            if i % 10 == 0:
                referrals.send_referral(
                    db,
                    patient_id=patient.id,
                    stay_id=stay.id,
                    service="snf_placement",
                    recipient_org_ids=[facility.id],
                    requester_org_id=hospital.id,
                    reason="Rehab after a fall",
                    actor="bench",
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


def signed_in(app: Any, username: str) -> Any:
    client = app.test_client()
    signin = client.get("/app/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', signin)
    assert token is not None
    client.post("/app/signin", data={"csrf_token": token.group(1), "username": username, "password": DEMO_PASSWORD})
    return client


def busiest_stay(settings: Settings) -> str:
    """The demo stay with the most handoffs (a referral to three facilities, follow-ups): the fullest case page."""
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as db:
        query = select(Handoff.stay_id).group_by(Handoff.stay_id).order_by(func.count().desc(), Handoff.stay_id)
        stay_id = db.scalars(query.limit(1)).one()
    engine.dispose()
    return str(stay_id)


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
        app = create_app(settings)
        client, facility = signed_in(app, "dana.planner"), signed_in(app, "maple.intake")
        case_url = f"/app/stays/{busiest_stay(settings)}"
        page = timings(lambda: client.get("/app/worklist"), args.runs)
        fragment = timings(lambda: client.get("/app/worklist/table"), args.runs)
        sorted_page = timings(lambda: client.get("/app/worklist?sort=avoidable&dir=desc"), args.runs)
        case_page = timings(lambda: client.get(case_url), args.runs)
        queue = timings(lambda: facility.get("/app/queue"), args.runs)
        queue_size = facility.get("/app/queue").text.count('class="card')
        api = timings(lambda: client.get("/api/worklist?limit=25&tz=America/New_York"), args.runs)
    api_p50 = statistics.median(api)
    print(f"{args.stays} stays, {args.runs} runs each ({url.split(':')[0]})")
    for name, samples in (
        ("GET /app/worklist", page),
        ("GET /app/worklist/table (htmx refresh)", fragment),
        ("GET /app/worklist?sort=avoidable (sorted by the database)", sorted_page),
        ("GET /app/stays/<id> (the case with most handoffs)", case_page),
        (f"GET /app/queue ({queue_size} cards, {QUEUE_FACILITY})", queue),
    ):
        p50, p95 = statistics.median(samples), percentile(samples, 95)
        print(f"{name:58} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  p50/API p50 {p50 / api_p50:5.2f}x")
    print(f"{'GET /api/worklist (baseline)':58} p50 {api_p50 * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
