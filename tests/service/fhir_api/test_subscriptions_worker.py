"""End to end with a real Celery worker (Redis broker) and a real receiver on 127.0.0.1:
a Task change reaches the subscriber, and a receiver that was down gets every missed event.

The worker needs committed data, so this test has its own database (not the rollback session),
its own Redis database number, and short retry delays (CAREBRIDGE_NOTIFY_RETRY_DELAYS).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from sqlalchemy.orm import Session

from service.app import create_app, runtime
from service.auth.context import AccessContext
from service.auth.scopes import parse_scopes
from service.config import Settings
from service.fhir_api.subscriptions_fhir import TOPIC_BASE, parse_subscription
from service.models.subscriptions import Subscription
from service.usecases import handoffs, subscriptions
from service.usecases.outbound_endpoints import EndpointPolicy
from tests.factories import build_case

pytestmark = pytest.mark.worker

REPO = Path(__file__).resolve().parents[3]
REDIS_URL = "redis://127.0.0.1:6379/13"
IN_CI = os.environ.get("CI", "").lower() == "true"
WAIT_SECONDS = 60  # generous: the test waits for arrival, it does not time it


class Receiver:
    """A subscriber's rest-hook endpoint: queues every notification Bundle; can go down and come back."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.put(orjson.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def next(self, kind: str) -> dict[str, Any]:
        """The next notification of `kind` (skipping heartbeats), waiting up to WAIT_SECONDS."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                bundle = self.received.get(timeout=1)
            except queue.Empty:
                continue
            if status_value(bundle, "type") == kind:
                return bundle
        raise AssertionError(f"no {kind} notification arrived within {WAIT_SECONDS} s")


def status_value(bundle: dict[str, Any], name: str) -> Any:
    parameters = bundle["entry"][0]["resource"]["parameter"]
    return next(v for p in parameters if p["name"] == name for k, v in p.items() if k.startswith("value"))


def event_number(bundle: dict[str, Any]) -> str:
    event = next(p for p in bundle["entry"][0]["resource"]["parameter"] if p["name"] == "notification-event")
    return str(event["part"][0]["valueString"])


def focus_of(bundle: dict[str, Any]) -> str:
    return str(bundle["entry"][1]["fullUrl"])


@pytest.fixture
def redis_db() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if IN_CI:
            pytest.fail("Redis is required at 127.0.0.1:6379 in CI")
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def worker(committed_url: str, redis_db: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`celery -A service.worker worker -B`: the real worker process, with the beat's safety nets."""
    env = os.environ | {
        "DATABASE_URL": committed_url,
        "CELERY_BROKER_URL": redis_db,
        "CELERY_RESULT_BACKEND": redis_db,
        "CAREBRIDGE_INSTANCE": str(tmp_path),
        "CAREBRIDGE_NOTIFY_RETRY_DELAYS": "0.5,1",
        "CAREBRIDGE_SUBSCRIPTION_ALLOW_PRIVATE": "127.0.0.1/32",  # the receiver is on loopback
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log = (tmp_path / "worker.log").open("wb")
    command = [sys.executable, "-m", "celery", "-A", "service.worker", "worker", "-B", "--pool=threads"]
    process = subprocess.Popen(
        [*command, "--concurrency=4", "--loglevel=INFO"], cwd=REPO, env=env, stdout=log, stderr=log
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture
def new_session(committed_url: str, redis_db: str) -> Callable[[], Session]:
    """Sessions of an app like the web server's: commits send the relay to the broker."""
    settings = Settings(database_url=committed_url, celery_broker_url=redis_db, celery_result_backend=redis_db)
    app = create_app(settings)
    factory: Callable[[], Session] = runtime(app).session_factory
    return factory


def status_of(new_session: Callable[[], Session], subscription_id: str) -> str:
    # A fresh session per look: SQLite keeps one snapshot for a whole read transaction.
    with new_session() as look:
        return look.get_one(Subscription, subscription_id).status


def wait_for(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.2)


def test_task_changes_reach_a_real_receiver_even_after_it_was_down(
    worker: subprocess.Popen[bytes], new_session: Callable[[], Session]
) -> None:
    receiver = Receiver()
    receiver.start()
    session = new_session()
    case = build_case(session, datetime.now(UTC))
    payer = AccessContext("payer-app", "payer-app", case.payer.id, parse_scopes("system/Task.rs"), None)
    body = {
        "resourceType": "Subscription",
        "criteria": f"{TOPIC_BASE}/task-changed",
        "channel": {"type": "rest-hook", "endpoint": f"http://127.0.0.1:{receiver.port}/hook"},
    }
    loopback = EndpointPolicy.from_setting("127.0.0.1/32")
    sub = subscriptions.create_subscription(session, payer, parse_subscription(body), loopback)
    assert status_value(receiver.next("handshake"), "status") in ("requested", "active")

    task = handoffs.create_handoff(
        session, actor="planner", patient_id=case.patient.id, stay_id=case.stay.id, kind="payer_authorization",
        owner_org_id=case.payer.id, requester_org_id=case.hospital.id,
    )  # fmt: skip
    first = receiver.next("event-notification")
    assert focus_of(first).endswith(f"/Task/{task.id}")
    assert event_number(first) == "1"

    receiver.stop()
    handoffs.transition_handoff(session, task.id, "accepted", actor="payer", acting_org_id=case.payer.id)
    wait_for(lambda: status_of(new_session, sub.id) == "error")
    handoffs.transition_handoff(session, task.id, "in-progress", actor="payer", acting_org_id=case.payer.id)
    handoffs.transition_handoff(session, task.id, "completed", actor="payer", acting_org_id=case.payer.id)

    receiver.start()  # back on the same port
    missed = [receiver.next("event-notification") for _ in range(3)]
    # Each missed event once, in order; the status counts every event so far.
    assert [event_number(b) for b in missed] == ["2", "3", "4"]
    assert status_value(missed[-1], "events-since-subscription-start") == "4"
    assert all(focus_of(b).endswith(f"/Task/{task.id}") for b in missed)
    wait_for(lambda: status_of(new_session, sub.id) == "active")
    assert worker.poll() is None, "the worker is still running"
    receiver.stop()
    session.close()
