"""Bulk `$export` throughput and memory on PostgreSQL, against a baseline measured in the same run.

Loads payer members with five Tasks each (every Task keeps the partner JSON it came from, as
imported records do), then exports the payer's Group as Task ndjson two ways:
- baseline: a plain SELECT of the stored JSON (`handoffs.source`), each row written out with orjson;
- export: carebridge's `run_export` (tenancy filter, Group membership, rows -> FHIR JSON through
  `fhir_bridge.render`, meta stamped, ndjson files), twice:
  - first: nothing is kept yet (as after a bulk load or an upgrade: the previous size's renditions
    are dropped first), every Task is rendered and its rendition kept;
  - steady: after 1% of the Tasks changed (a new version each), as a payer's next export finds
    them: those are rendered again, the rest copied from their renditions.
Prints resources per second and the ratios to the baseline (aims: first >= 0.5 x, steady >= 1 x
baseline), tracemalloc peaks and peak RSS at two sizes (flat memory means the peak does not grow),
and the load average when the size was done (the machine may be shared).

    .venv/bin/python bench/export.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from support import DEFAULT_PG, add_organizations, bulk_load, scratch_database

from service import fhir_bridge
from service.models import Handoff
from service.models.bulk import ExportJob
from service.usecases.bulk_export import run_export

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)
STATUSES = ("requested", "accepted", "in-progress", "completed", "cancelled")
TASKS_PER_MEMBER = 5
SIZES = (20_000, 100_000)
CHANGED_PER_EXPORT = 0.01


def partner_task(task_id: str, patient_id: str, owner: str, requester: str, status: str) -> dict[str, object]:
    """The Task as the partner sent it (what `source` keeps for lossless export)."""
    return {
        "resourceType": "Task",
        "id": task_id,
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": "https://carebridge.dev/fhir/CodeSystem/handoff-kind", "code": "transport"}]},
        "for": {"reference": f"Patient/{patient_id}"},
        "owner": {"reference": f"Organization/{owner}"},
        "requester": {"reference": f"Organization/{requester}"},
        "authoredOn": "2026-03-10T09:00:00Z",
        "restriction": {"period": {"end": "2026-03-11T09:00:00Z"}},
        "note": [{"text": "wheelchair van, second floor walk-up"}],
    }


def load(engine: Engine, count: int, payer: str, hospital: str) -> None:
    """COPY count / 5 members and `count` Tasks."""
    with bulk_load(engine) as cur:
        members = [str(uuid.uuid4()) for _ in range(count // TASKS_PER_MEMBER)]
        with cur.copy("COPY patients (id, family_name, given_name, payer_id, created_at, updated_at) FROM STDIN") as cp:
            for i, pid in enumerate(members):
                cp.write_row((pid, f"Member{i}", "Max", payer, NOW, NOW))
        with cur.copy(
            "COPY handoffs (id, patient_id, kind, owner_org_id, requester_org_id, status, due_at, authored_on, "
            "status_changed_at, notes, source, version, updated_at) FROM STDIN"
        ) as cp:
            for i, pid in enumerate(members):
                for k in range(TASKS_PER_MEMBER):
                    tid, status = str(uuid.uuid4()), STATUSES[(i + k) % len(STATUSES)]
                    source = orjson.dumps(partner_task(tid, pid, hospital, hospital, status)).decode()
                    notes = '[{"text": "wheelchair van, second floor walk-up"}]'
                    due = NOW + timedelta(days=1)
                    row = (tid, pid, "transport", hospital, hospital, status, due, NOW, NOW, notes, source, 1, NOW)
                    cp.write_row(row)


def baseline(engine: Engine, out: Path) -> int:
    """A plain SELECT of the stored JSON, streamed, written out with orjson."""
    written = 0
    with Session(engine) as session, out.open("wb", buffering=1 << 20) as file:
        rows = session.execute(select(Handoff.source).order_by(Handoff.id).execution_options(yield_per=1000))
        for (source,) in rows:
            file.write(orjson.dumps(source))
            file.write(b"\n")
            written += 1
    return written


def export(engine: Engine, out: Path, payer: str) -> int:
    """carebridge's Group export of Tasks, as the Celery task runs it."""
    with Session(engine, expire_on_commit=False) as session:
        job = ExportJob(
            client_id="bench-payer", subject="bench-payer", organization_id=payer, scopes="system/Task.rs",
            level="group", group_id=payer, types=["Task"], request_url="bench", transaction_time=NOW,
            created_at=NOW, output=[],
        )  # fmt: skip
        session.add(job)
        session.commit()
        run_export(session, job.id, out, fhir_bridge.render)
        session.refresh(job)
        return sum(int(o["count"]) for o in job.output)


def forget_renditions(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE fhir_renditions"))


def change_some(engine: Engine, fraction: float) -> None:
    """A new version of every 1/fraction-th Task, as the use cases would write it."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE handoffs SET version = version + 1, status = 'completed', updated_at = now() "
                "WHERE abs(hashtext(id)) % :every = 0"
            ),
            {"every": round(1 / fraction)},
        )


def timed(run: Callable[[], int]) -> tuple[int, float]:
    t0 = time.perf_counter()
    count = run()
    return count, count / (time.perf_counter() - t0)


def peak_memory(run: Callable[[], int]) -> float:
    """tracemalloc's peak (MiB) during one run."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    with scratch_database(args.pg) as (_, engine):
        payer, hospital = add_organizations(engine, ["payer", "hospital"])
        loaded = 0
        print(
            f"{'resources':>10} {'baseline/s':>11} {'first/s':>8} {'ratio':>6} {'steady/s':>9} {'ratio':>6} "
            f"{'base peak':>10} {'export peak':>12} {'peak RSS':>9} {'load':>5}"
        )
        for size in SIZES:
            load(engine, size - loaded, payer, hospital)
            loaded = size
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)

                def run_baseline(out: Path = out) -> int:
                    return baseline(engine, out / "baseline.ndjson")

                def run_export(out: Path = out) -> int:
                    return export(engine, out, payer)

                baseline(engine, out / "warm.ndjson")  # warm the buffer cache for both
                n_base, base_rate = timed(run_baseline)
                forget_renditions(engine)
                n_first, first_rate = timed(run_export)
                change_some(engine, CHANGED_PER_EXPORT)
                n_steady, steady_rate = timed(run_export)
                assert n_base == n_first == n_steady == size, (n_base, n_first, n_steady, size)
                base_peak = peak_memory(run_baseline)
                change_some(engine, CHANGED_PER_EXPORT)
                export_peak = peak_memory(run_export)
            print(
                f"{size:>10,} {base_rate:>11,.0f} {first_rate:>8,.0f} {first_rate / base_rate:>6.2f} "
                f"{steady_rate:>9,.0f} {steady_rate / base_rate:>6.2f} "
                f"{base_peak:>8.1f}MiB {export_peak:>10.1f}MiB {peak_rss_mib():>7.0f}MiB {os.getloadavg()[0]:>5.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
