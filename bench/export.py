"""Bulk `$export` throughput and memory on PostgreSQL, against a baseline measured in the same run.

Loads payer members with five Tasks each (every Task keeps the partner JSON it came from, as
imported records do; written through the ORM, as carebridge writes them, so each write keeps its
rendition), then exports the payer's Group as Task ndjson:
- baseline: a plain SELECT of the stored JSON (`handoffs.source`), each row written out with orjson;
- export: carebridge's `run_export` (tenancy filter, Group membership, rows -> FHIR JSON through
  `fhir_bridge.render`, meta stamped, ndjson files), three times:
  - first: the first export after the load, which finds the renditions the writes kept;
  - unkept: the renditions dropped first, as after an upgrade or rows loaded without the ORM:
    every Task is rendered by the export and its rendition kept;
  - steady: after 1% of the Tasks changed outside the ORM (a new version each, no rendition), as
    a payer's next export finds them: those are rendered again, the rest copied.
Prints resources per second and the ratios to the baseline (aims: first >= 0.5 x, steady >= 1 x
baseline), tracemalloc peaks (of an export rendering every row) and peak RSS at two sizes (flat
memory means the peak does not grow), the load average when the size was done (the machine may be
shared), and what keeping the rendition costs a use case's Task write.

    .venv/bin/python bench/export.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from support import DEFAULT_PG, add_organizations, bulk_load, p50_p95, scratch_database

from service import fhir_bridge
from service.models import Handoff
from service.models.bulk import ExportJob
from service.usecases import handoffs, renditions
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
    """COPY count / 5 members; their `count` Tasks written through the ORM (as every carebridge
    write is), a flush per member page: each flush keeps the renditions of what it wrote."""
    members = [str(uuid.uuid4()) for _ in range(count // TASKS_PER_MEMBER)]
    copy = "COPY patients (id, family_name, given_name, payer_id, created_at, updated_at) FROM STDIN"
    with bulk_load(engine) as cur, cur.copy(copy) as cp:
        for i, pid in enumerate(members):
            cp.write_row((pid, f"Member{i}", "Max", payer, NOW, NOW))
    with Session(engine) as session:
        for page in range(0, len(members), 200):
            for i, pid in enumerate(members[page : page + 200], start=page):
                session.add_all(
                    handoff(pid, hospital, STATUSES[(i + k) % len(STATUSES)]) for k in range(TASKS_PER_MEMBER)
                )
            session.commit()
    with bulk_load(engine):
        pass  # ANALYZE, so plans see the new sizes


def handoff(patient_id: str, hospital: str, status: str) -> Handoff:
    task_id = str(uuid.uuid4())
    return Handoff(
        id=task_id, patient_id=patient_id, kind="transport", owner_org_id=hospital, requester_org_id=hospital,
        status=status, due_at=NOW + timedelta(days=1), authored_on=NOW, status_changed_at=NOW,
        notes=[{"text": "wheelchair van, second floor walk-up"}],
        source=partner_task(task_id, patient_id, hospital, hospital, status), version=1, updated_at=NOW,
    )  # fmt: skip


def write_cost(engine: Engine, notes: int) -> tuple[float, float]:
    """p50 (ms) of a use case's Task write (a note added) with the renditions kept at write, and
    without (the flush listener removed for the run)."""
    with Session(engine) as session:
        ids = list(session.scalars(select(Handoff.id).limit(notes)))
        kept, _ = p50_p95(lambda: handoffs.add_note(session, random.choice(ids), "called", actor="bench"), notes)
        event.remove(Session, "after_flush", renditions._keep_flushed)
        try:
            bare, _ = p50_p95(lambda: handoffs.add_note(session, random.choice(ids), "called", actor="bench"), notes)
        finally:
            event.listen(Session, "after_flush", renditions._keep_flushed)
    return kept, bare


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
    """A new version of every 1/fraction-th Task, written without the ORM (no rendition kept)."""
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
            f"{'resources':>10} {'baseline/s':>11} {'first/s':>8} {'ratio':>6} {'unkept/s':>9} {'ratio':>6} "
            f"{'steady/s':>9} {'ratio':>6} "
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
                n_first, first_rate = timed(run_export)
                forget_renditions(engine)
                n_bare, bare_rate = timed(run_export)
                change_some(engine, CHANGED_PER_EXPORT)
                n_steady, steady_rate = timed(run_export)
                assert n_base == n_first == n_bare == n_steady == size, (n_base, n_first, n_bare, n_steady, size)
                base_peak = peak_memory(run_baseline)
                forget_renditions(engine)  # the export's largest working set: it renders every row
                export_peak = peak_memory(run_export)
            print(
                f"{size:>10,} {base_rate:>11,.0f} {first_rate:>8,.0f} {first_rate / base_rate:>6.2f} "
                f"{bare_rate:>9,.0f} {bare_rate / base_rate:>6.2f} "
                f"{steady_rate:>9,.0f} {steady_rate / base_rate:>6.2f} "
                f"{base_peak:>8.1f}MiB {export_peak:>10.1f}MiB {peak_rss_mib():>7.0f}MiB {os.getloadavg()[0]:>5.1f}",
                flush=True,
            )
        kept, bare = write_cost(engine, 300)
        print(f"Task write (a note added), p50: {kept:.2f} ms keeping its rendition, {bare:.2f} ms without")


if __name__ == "__main__":
    main()
