"""Worklist latency at 10,000 and 100,000 active stays (five handoffs each) on PostgreSQL.

Prints p50/p95 of the worklist query at both sizes and the ratio (100k / 10k). The worklist must
cost in proportion to the page, not to the hospital: aim for a p95 ratio of at most 2.

    .venv/bin/python bench/worklist.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from support import DEFAULT_PG, add_organizations, bulk_load, p50_p95, print_growth, scratch_database

from service.models.stays import READINESS_ITEMS
from service.usecases.worklist import WorklistFilter, worklist

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)
UNITS = ("4 West", "5 East", "Ortho 6", "Cardiac Stepdown", "ICU")
KINDS = ("referral_decision", "payer_authorization", "transport", "dme_delivery", "followup_call_48h")
STATUSES = ("requested", "accepted", "in-progress", "completed", "cancelled")


def load(engine: Engine, start: int, count: int, hospital: str) -> None:
    """COPY ``count`` patients, stays, readiness items and 5 handoffs per stay."""
    with bulk_load(engine) as cur:
        ids = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(count)]
        with cur.copy("COPY patients (id, family_name, given_name, created_at, updated_at) FROM STDIN") as cp:
            for i, (pid, _) in enumerate(ids, start):
                cp.write_row((pid, f"Family{i}", "Given", NOW, NOW))
        with cur.copy(
            "COPY stays (id, patient_id, hospital_id, status, unit, bed, admitted_at, expected_discharge_date, "
            "medically_ready_date, created_at, updated_at) FROM STDIN"
        ) as cp:
            for i, (pid, sid) in enumerate(ids, start):
                edd = date(2026, 3, 10) + timedelta(days=i % 30 - 5)
                cp.write_row(
                    (
                        sid,
                        pid,
                        hospital,
                        "in-progress",
                        UNITS[i % len(UNITS)],
                        "1A",
                        NOW - timedelta(days=3),
                        edd,
                        edd - timedelta(days=1),
                        NOW,
                        NOW,
                    )
                )
        with cur.copy("COPY readiness_items (id, stay_id, code, position, met) FROM STDIN") as cp:
            for i, (_, sid) in enumerate(ids, start):
                for pos, code in enumerate(READINESS_ITEMS):
                    cp.write_row((str(uuid.uuid4()), sid, code, pos, (i + pos) % 3 == 0))
        with cur.copy(
            "COPY handoffs (id, patient_id, stay_id, kind, owner_org_id, requester_org_id, status, due_at, "
            "authored_on, status_changed_at, notes, version, updated_at) FROM STDIN"
        ) as cp:
            for i, (pid, sid) in enumerate(ids, start):
                for k in range(5):
                    due = NOW + timedelta(hours=(i * 7 + k * 13) % 96 - 24)
                    cp.write_row(
                        (
                            str(uuid.uuid4()),
                            pid,
                            sid,
                            KINDS[k],
                            hospital,
                            hospital,
                            STATUSES[(i + k) % len(STATUSES)],
                            due,
                            NOW,
                            NOW,
                            "[]",
                            1,
                            NOW,
                        )
                    )


def measure(engine: Engine, query: Callable[[Session], object], runs: int) -> tuple[float, float]:
    with Session(engine) as session:
        return p50_p95(lambda: query(session), runs, after=session.rollback)


QUERIES: dict[str, Callable[[Session], object]] = {
    "first page": lambda s: worklist(s, now=NOW, tz=UTC, limit=25),
    "unit filter": lambda s: worklist(s, now=NOW, tz=UTC, limit=25, filters=WorklistFilter(unit="Ortho 6")),
    "has overdue": lambda s: worklist(s, now=NOW, tz=UTC, limit=25, filters=WorklistFilter(has_overdue=True)),
    "EDD window": lambda s: worklist(
        s,
        now=NOW,
        tz=UTC,
        limit=25,
        filters=WorklistFilter(edd_from=date(2026, 3, 12), edd_to=date(2026, 3, 14)),
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with scratch_database(args.pg) as (_, engine):
        [hospital] = add_organizations(engine, ["hospital"])
        results: dict[int, dict[str, tuple[float, float]]] = {}
        loaded = 0
        for size in (10_000, 100_000):
            t0 = time.perf_counter()
            load(engine, loaded, size - loaded, hospital)
            loaded = size
            print(f"loaded {size:,} stays ({size * 5:,} handoffs) in {time.perf_counter() - t0:.1f}s")
            results[size] = {label: measure(engine, q, args.runs) for label, q in QUERIES.items()}
        print_growth("query", results[10_000], results[100_000])


if __name__ == "__main__":
    main()
