"""Parallel clients against a server started as ``carebridge serve`` starts it, on SQLite and PostgreSQL.

For each database: demo data (``carebridge demo``), a backend-services client of the hospital, then

1. the mix: ``--clients`` clients for ``--seconds``, each cycling through FHIR reads by id (Task,
   CarePlan), FHIR searches (Task?patient=), the worklist and handoff transitions (create a handoff,
   then requested -> accepted -> in-progress -> completed);
2. FHIR reads alone (Task by id), the same clients for ``--read-seconds``;
3. the baseline: a minimal Flask view under the same gunicorn settings that reads the same handoff
   row by id with SQLAlchemy and returns it with orjson, the same clients for ``--read-seconds``.

Phases 2 and 3 take turns, ``--turns`` of each (both servers run throughout): on a machine that
other work shares, one phase after the other measured whichever of the two ran while it was
busier (the same code measured 0.50x and 0.30x on SQLite in two runs), where taking turns spreads that
load over both alike.

Printed per kind: requests/s, p50, p95 and errors; then FHIR reads/s against the baseline's.
Aim: 0 errors on both databases, FHIR reads >= 0.5x the baseline. Loopback only; every loop is
bounded by its deadline.

    .venv/bin/python bench/load.py [--db sqlite,postgresql] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                   [--clients 32] [--seconds 60] [--read-seconds 20] [--turns 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from support import DEFAULT_PG, scratch_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' token helper

from service.config import Settings  # noqa: E402
from service.db import make_engine, make_session_factory  # noqa: E402
from service.demo import load_demo  # noqa: E402
from service.models import CasePlan, Handoff, Organization  # noqa: E402
from tests.service.fhir_api.support import committed_token  # noqa: E402

HOST = "127.0.0.1"
# Every call carries the token: the FHIR API needs it, and the REST API takes the same bearer tokens.
SCOPES = "system/*.cruds"
# The mix one client cycles through (FHIR reads are the bulk of what partners send).
MIX = ("fhir-read", "fhir-search", "fhir-read", "worklist", "fhir-read", "transition", "fhir-read", "fhir-search")
TRANSITIONS = ("accepted", "in-progress", "completed")


@dataclass
class Ids:
    hospital: str
    patients: list[str]
    tasks: list[str]
    plans: list[str]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def extend(self, other: Tally) -> None:
        for kind, samples in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(samples)
        for kind, count in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + count
        self.samples.extend(other.samples[: 5 - len(self.samples)])

    def add(self, kind: str, seconds: float, ok: bool, what: str) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds * 1000)
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.samples) < 5:
                    self.samples.append(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def seed(url: str) -> Ids:
    load_demo(Settings(database_url=url), stays=25)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        hospital = session.scalar(select(Organization.id).where(Organization.kind == "hospital"))
        handoffs = session.execute(select(Handoff.id, Handoff.patient_id).limit(200)).all()
        plans = list(session.scalars(select(CasePlan.id).limit(50)))
    engine.dispose()
    assert hospital and handoffs and plans, "the demo data is missing the hospital, handoffs or plans"
    return Ids(hospital, sorted({p for _, p in handoffs}), [t for t, _ in handoffs], plans)


def mint_token(url: str, settings: Settings, organization_id: str) -> str:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        token = committed_token(session, settings, organization_id, SCOPES)
    engine.dispose()
    return token


@contextmanager
def server(argv: list[str], env: dict[str, str], port: int, ready_path: str, log: Path) -> Iterator[None]:
    """Run `argv` until the block ends; waits (at most 60 s) until `ready_path` answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"{argv[:3]} exited with {process.returncode}; see {log}")
                try:
                    conn = http.client.HTTPConnection(HOST, port, timeout=2)
                    conn.request("GET", ready_path)
                    if conn.getresponse().status < 500:
                        break
                except OSError:
                    time.sleep(0.2)
            else:
                raise RuntimeError(f"{argv[:3]} did not answer within 60 s; see {log}")
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


class Client:
    """One keep-alive connection and what a client of that kind does next."""

    def __init__(self, port: int, token: str, ids: Ids, index: int, tally: Tally) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.auth = {"Authorization": f"Bearer {token}"}
        self.ids, self.index, self.tally = ids, index, tally
        self.handoff: str | None = None
        self.moves: Iterator[str] = iter(())
        self.step = 0

    def call(self, kind: str, method: str, path: str, expected: int, body: Any = None) -> Any:
        headers = {**self.auth, "Accept": "application/fhir+json" if path.startswith("/fhir") else "application/json"}
        payload = None
        if body is not None:
            payload = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as failed:
            self.conn.close()
            self.tally.add(kind, time.perf_counter() - t0, False, f"{method} {path.split('?')[0]}: {failed!r}")
            return None
        ok = status == expected
        self.tally.add(kind, time.perf_counter() - t0, ok, f"{method} {path.split('?')[0]}: {status} {data[:200]!r}")
        return orjson.loads(data) if ok and data else None

    def do(self, kind: str) -> None:
        n = self.index + self.step
        self.step += 1
        ids = self.ids
        if kind == "fhir-read":
            if n % 2:
                self.call(kind, "GET", f"/fhir/R4/Task/{ids.tasks[n % len(ids.tasks)]}", 200)
            else:
                self.call(kind, "GET", f"/fhir/R4/CarePlan/{ids.plans[n % len(ids.plans)]}", 200)
        elif kind == "task-read":
            self.call(kind, "GET", f"/fhir/R4/Task/{ids.tasks[0]}", 200)
        elif kind == "baseline":
            self.call(kind, "GET", f"/baseline/{ids.tasks[0]}", 200)
        elif kind == "fhir-search":
            self.call(kind, "GET", f"/fhir/R4/Task?patient={ids.patients[n % len(ids.patients)]}&_count=20", 200)
        elif kind == "worklist":
            self.call(kind, "GET", "/api/worklist?limit=25", 200)
        elif kind == "transition":
            self.transition()

    def transition(self) -> None:
        if self.handoff is None:
            created = self.call(
                "handoff-create", "POST", "/api/handoffs", 201,
                {"patient_id": self.ids.patients[self.index % len(self.ids.patients)], "kind": "transport",
                 # The hospital's own handoff: as owner it may make every move (service.auth.policy).
                 "owner_org_id": self.ids.hospital, "requester_org_id": self.ids.hospital},
            )  # fmt: skip
            self.handoff, self.moves = (created["id"], iter(TRANSITIONS)) if created else (None, iter(()))
            return
        status = next(self.moves, None)
        if status is None:
            self.handoff = None
            return
        if self.call("transition", "POST", f"/api/handoffs/{self.handoff}/transition", 200, {"status": status}) is None:
            self.handoff = None


def drive(port: int, token: str, ids: Ids, clients: int, seconds: float, plan: tuple[str, ...]) -> tuple[Tally, float]:
    tally = Tally()
    deadline = time.monotonic() + seconds

    def run(index: int) -> None:
        client = Client(port, token, ids, index, tally)
        turn = index
        while time.monotonic() < deadline:
            client.do(plan[turn % len(plan)])
            turn += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - t0


def take_turns(
    token: str, ids: Ids, clients: int, seconds: float, turns: int, *drives: tuple[int, tuple[str, ...]]
) -> list[tuple[Tally, float]]:
    """Each (port, plan) of `drives` for `seconds` in all, in `turns` turns taken one after the other."""
    totals = [(Tally(), 0.0) for _ in drives]
    for _ in range(turns):
        for i, (port, plan) in enumerate(drives):
            tally, elapsed = drive(port, token, ids, clients, seconds / turns, plan)
            totals[i][0].extend(tally)
            totals[i] = (totals[i][0], totals[i][1] + elapsed)
    return totals


def report(title: str, tally: Tally, elapsed: float) -> None:
    print(f"\n{title}")
    print(f"  {'kind':<15} {'req/s':>8} {'p50':>9} {'p95':>9} {'errors':>7}")
    for kind, samples in sorted(tally.latencies.items()):
        samples.sort()
        p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
        errors = tally.errors.get(kind, 0)
        p50 = statistics.median(samples)
        print(f"  {kind:<15} {len(samples) / elapsed:>8.1f} {p50:>7.1f}ms {p95:>7.1f}ms {errors:>7}")
    for sample in tally.samples:
        print(f"  error: {sample}")


def rate(tally: Tally, kind: str, elapsed: float) -> float:
    return len(tally.latencies.get(kind, [])) / elapsed


@contextmanager
def database(kind: str, pg_url: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'carebridge.db'}"
        return
    with scratch_database(pg_url) as (url, _engine):
        yield url


def bench(kind: str, args: argparse.Namespace) -> tuple[int, float]:
    """Run the three phases on one database; (errors, FHIR reads / baseline)."""
    with tempfile.TemporaryDirectory() as tmp, database(kind, args.pg, Path(tmp)) as url:
        folder = Path(tmp)
        port, base_port = free_port(), free_port()
        env = {"DATABASE_URL": url, "CAREBRIDGE_INSTANCE": str(folder), "CAREBRIDGE_PUBLIC_URL": f"http://{HOST}:{port}"}
        settings = Settings.from_env(database_url=url, public_url=env["CAREBRIDGE_PUBLIC_URL"])
        ids = seed(url)
        carebridge = str(Path(sys.executable).with_name("carebridge"))
        baseline = [sys.executable, __file__, "--serve-baseline", url, "--port", str(base_port)]
        with (
            server([carebridge, "serve", "--port", str(port)], env, port, "/fhir/R4/metadata", folder / "serve.log"),
            server(baseline, env, base_port, f"/baseline/{ids.tasks[0]}", folder / "baseline.log"),
        ):
            token = mint_token(url, settings, ids.hospital)
            mixed, mixed_s = drive(port, token, ids, args.clients, args.seconds, MIX)
            reading, base_reading = (port, ("task-read",)), (base_port, ("baseline",))
            turns = take_turns(token, ids, args.clients, args.read_seconds, args.turns, reading, base_reading)
            (reads, reads_s), (base, base_s) = turns
    print(f"\n=== {kind}: {args.clients} clients ===")
    report(f"mix, {mixed_s:.0f} s", mixed, mixed_s)
    report(f"FHIR Task read alone, {reads_s:.0f} s in {args.turns} turns", reads, reads_s)
    report(
        f"baseline (Flask + SQLAlchemy + orjson, same gunicorn settings), {base_s:.0f} s in {args.turns} turns",
        base,
        base_s,
    )
    ratio = rate(reads, "task-read", reads_s) / max(rate(base, "baseline", base_s), 1e-9)
    errors = sum(t for tally in (mixed, reads, base) for t in tally.errors.values())
    print(f"\n  FHIR reads / baseline: {ratio:.2f}x (aim >= 0.5x); errors: {errors} (aim 0)")
    return errors, ratio


def baseline_app(url: str) -> Any:
    from flask import Flask, Response

    engine = make_engine(url)
    table = Handoff.__table__
    app = Flask("baseline")

    @app.get("/baseline/<ident>")
    def read(ident: str) -> Response:
        with engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.id == ident)).mappings().one()
        return Response(orjson.dumps(dict(row), option=orjson.OPT_NON_STR_KEYS), mimetype="application/json")

    return app


def serve_baseline(url: str, port: int) -> None:
    from service import wsgi_server

    workers, threads = wsgi_server.sizing(Settings.from_env(database_url=url))
    wsgi_server.run(host=HOST, port=port, workers=workers, threads=threads, load=lambda: baseline_app(url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--read-seconds", type=float, default=20)
    parser.add_argument("--turns", type=int, default=4, help="turns of FHIR reads and of the baseline, taken in turn")
    parser.add_argument("--serve-baseline", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.port)
        return
    results = {kind: bench(kind, args) for kind in args.db.split(",")}
    print("\nsummary: " + "; ".join(f"{k}: {e} errors, reads {r:.2f}x baseline" for k, (e, r) in results.items()))


if __name__ == "__main__":
    main()
