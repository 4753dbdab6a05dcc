"""Failed sign-ins are counted in the database, so web processes that fail at the same moment
each add their failure: 12 concurrent failures on their own connections count 12."""

from __future__ import annotations

import threading
from datetime import datetime

from service.db import make_engine, make_session_factory
from service.models.web import SigninFailures
from service.usecases import signin_throttle


def test_concurrent_failures_from_separate_connections_all_count(committed_url: str, now: datetime) -> None:
    engine = make_engine(committed_url)
    factory = make_session_factory(engine)
    start = threading.Barrier(12)
    errors: list[BaseException] = []

    def fail_once() -> None:
        try:
            with factory() as session:
                start.wait(timeout=60)
                signin_throttle.record_failure(session, ["account:dana", "address:203.0.113.7"])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=fail_once) for _ in range(12)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    try:
        assert errors == []
        with factory() as session:
            assert session.get(SigninFailures, "account:dana").failures == 12  # type: ignore[union-attr]
            assert session.get(SigninFailures, "address:203.0.113.7").failures == 12  # type: ignore[union-attr]
    finally:
        engine.dispose()
