"""What the PostgreSQL benchmarks share: a throw-away database, migrated, and bench organisations."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from service.db import make_engine
from service.migrate import upgrade

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_database(pg_url: str) -> Iterator[tuple[str, Engine]]:
    """A new database beside ``pg_url``'s, migrated; (its URL, an engine). Dropped afterwards."""
    name = f"carebridge_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def bulk_load(engine: Engine) -> Iterator[Any]:
    """A psycopg cursor for COPY; committed and ANALYZEd afterwards, so plans see the new sizes."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        yield cursor
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def add_organizations(engine: Engine, kinds: Sequence[str]) -> list[str]:
    """One organisation per kind (e.g. "hospital", "payer", "snf"); their ids, in order."""
    ids = [str(uuid.uuid4()) for _ in kinds]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organizations (id, name, kind, identifiers, created_at) "
                "VALUES (:id, :name, :kind, '[]', now())"
            ),
            [{"id": i, "name": f"Bench {kind}", "kind": kind} for i, kind in zip(ids, kinds, strict=True)],
        )
    return ids


def p50_p95(call: Callable[[], object], runs: int, *, after: Callable[[], object] | None = None) -> tuple[float, float]:
    """Median and 95th percentile of ``call`` in milliseconds, after five warm-up calls (caches,
    connection pool, key cache); ``after`` runs untimed after each call."""
    for _ in range(5):
        call()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
        if after is not None:
            after()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


Timings = Mapping[str, tuple[float, float]]  # label -> (p50, p95) in milliseconds


def print_growth(heading: str, small: Timings, large: Timings) -> None:
    """One line per label: p50/p95 at 10,000 and at 100,000, and the p95 ratio (aim: at most 2)."""
    width = max(len(heading), *(len(label) for label in small))
    print(f"\n{heading:<{width}} {'p50 10k':>9} {'p95 10k':>9} {'p50 100k':>9} {'p95 100k':>9} {'p95 ratio':>10}")
    for label, (a50, a95) in small.items():
        b50, b95 = large[label]
        print(f"{label:<{width}} {a50:>7.2f}ms {a95:>7.2f}ms {b50:>7.2f}ms {b95:>7.2f}ms {b95 / a95:>9.2f}x")
