"""500 changes pushed by a real Celery worker on Redis while the partner fails and the worker is killed.

The partner answers 503s, 429s with Retry-After and slow responses (its /admin/faults); partway
through, the worker (with its embedded beat, as `carebridge worker --beat` runs it) is SIGKILLed
and started again. Nothing is redelivered by the broker (the round tasks are acknowledged on
receipt, `service.tasks.sync`): the beat's next push round takes the killed worker's rows over once
their lease ran out, and conditional creates make every resend harmless. Afterwards each change is
on the partner exactly once, counted by carebridge's identifier. The data must be committed for a
worker process to see it, so the test runs on its own database (`committed_url`) and its own Redis
database (another Celery worker on the machine must not take or restore its messages).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.http import Transport
from service.db import make_engine, make_session_factory
from service.models import Delivery
from service.models.keys import SigningKey
from service.sync.resource_types import identifier_system
from service.usecases import plans
from service.usecases.consumers import CONSUMERS
from service.usecases.dispatch import dispatch_pending
from service.usecases.partners import add_partner
from tests.factories import build_case
from tests.peers import PeerSite, require

pytestmark = [pytest.mark.integration, pytest.mark.worker]

REPO = Path(__file__).resolve().parents[3]
REDIS = os.environ.get("CAREBRIDGE_TEST_REDIS", "redis://127.0.0.1:6379")
CHANGES = 500
# The peer answers a conditional create by scanning every stored CarePlan (1-6 ms each), so
# 500 creates cost minutes on a site of their own, and a batch up to several seconds. The lease is
# the default (CAREBRIDGE_SYNC_LEASE_SECONDS, 30 s): a heartbeat renews it however long a batch
# takes, and the killed worker's rows come back within one lease of its last heartbeat. One sender
# per round, and batches of 5: the peer's conditional creates grow to seconds each as CarePlans
# pile up (5-6 ms per stored one on a loaded machine), and once two queued batches outlast the 30 s
# read timeout, every batch is sent again while the peer still works on it, and the run never ends.
# The beat pushes every 5 s, so a round starts soon after the worker does and after a lease ran out.
PUSH_SETTINGS = {
    "CAREBRIDGE_SYNC_PUSH_BATCH": "5",
    "CAREBRIDGE_SYNC_PUSH_PARALLEL": "1",
    "CAREBRIDGE_SYNC_PUSH_SECONDS": "5",
}
# Each wait ends as soon as its condition holds; the bound only catches a stuck sync. Batches took
# 11 s each in a run on a loaded two-core machine, and 420 s was then too short for all 500.
DEADLINE = 900


@pytest.fixture
def own_redis() -> Iterator[str]:
    """A Redis database no one else uses: the first empty one this test can claim (with a key
    that expires, should the test itself be killed), emptied again afterwards."""
    token = uuid.uuid4().hex
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS}/{db}", socket_connect_timeout=1)
        try:
            claimed = client.set("carebridge:fault-test", token, nx=True, ex=3600)
        except redis.RedisError:
            require(False, f"Redis is not reachable at {REDIS}")
        if claimed and client.dbsize() == 1:
            break
        if claimed:
            client.delete("carebridge:fault-test")
    else:
        pytest.fail("no empty Redis database to run the fault test on")
    try:
        yield f"{REDIS}/{db}"
    finally:
        client.flushdb()


def _start_worker(url: str, broker: str, instance: Path) -> subprocess.Popen[bytes]:
    instance.mkdir()  # each start its own beat schedule: a SIGKILLed beat may leave its file torn
    env = {
        **os.environ,
        **PUSH_SETTINGS,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "CAREBRIDGE_INSTANCE": str(instance),
        "PYTHONPATH": str(REPO),
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    command = [sys.executable, "-m", "celery", "-A", "service.worker", "worker", "--beat"]
    command += ["--concurrency", "2", "--loglevel", "INFO", "--without-heartbeat", "--without-gossip"]
    log = open(instance.parent / "worker.log", "ab")  # noqa: SIM115 - the worker writes to it until killed
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True)


def _kill(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGKILL)  # the whole group: the main process and its pool children
    worker.wait()


def _states(session: Session, partner_id: str) -> Counter[str]:
    rows = session.execute(
        select(Delivery.state, func.count()).where(Delivery.partner_id == partner_id).group_by(Delivery.state)
    )
    return Counter({state: count for state, count in rows})


def _wait_for(condition: str, check: Callable[[], bool], timeout: float, log: Path) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {condition}; worker log:\n{log.read_text()[-3000:]}")


class _Recovery:
    """When the rows the killed worker held were all done, and when every row was."""

    def __init__(self, session: Session, partner_id: str, held: set[int]) -> None:
        self.session, self.partner_id, self.held = session, partner_id, held
        self.held_at = self.all_at = 0.0

    def all_done(self) -> bool:
        if not self.held_at:
            undone = select(func.count()).where(Delivery.id.in_(self.held), Delivery.state != "done")
            if not self.session.scalar(undone):
                self.held_at = time.monotonic()
        if _states(self.session, self.partner_id) == {"done": CHANGES}:
            self.all_at = time.monotonic()
            self.held_at = self.held_at or self.all_at
            return True
        return False


@pytest.fixture(scope="module")
def faults_site(peer_sites: Callable[..., PeerSite]) -> PeerSite:
    """A payer site of its own: other tests' CarePlans would slow every conditional create."""
    return peer_sites("faults", client_alg="ES384", args=["--access-token-alg", "ES384"])


def test_every_change_reaches_the_partner_exactly_once_despite_faults_and_a_killed_worker(
    committed_url: str, own_redis: str, faults_site: PeerSite, tmp_path: Path
) -> None:
    site = faults_site
    engine = make_engine(committed_url)
    factory = make_session_factory(engine)
    client = site.register_backend_client("system/*.cruds")
    key = client.settings.private_jwk
    with factory() as session:
        case = build_case(session, datetime.now(UTC), mrn=f"F-{uuid.uuid4().hex[:6]}")
        session.add(SigningKey(kid=key["kid"], alg=key["alg"], private_jwk=dict(key), created_at=datetime.now(UTC)))
        partner = add_partner(
            session,
            name="payer-faults",
            kind="payer",
            organization_id=case.payer.id,
            fhir_base=site.fhir_base,
            client_id=client.settings.client_id,
            token_endpoint=site.token_endpoint,
            key_kid=key["kid"],
            scopes="system/*.cruds",
            pull_types=[],
            push_types=["CarePlan"],
        )
        ids = [
            plans.create_case_plan(session, patient_id=case.patient.id, title=f"Plan {n}", actor="planner").id
            for n in range(CHANGES)
        ]
        while dispatch_pending(session, CONSUMERS):
            pass
        assert _states(session, partner.id) == {"pending": CHANGES}

    fhir_path = "/fhir/R4"
    site.inject_fault(503, count=3, path_prefix=fhir_path)
    site.inject_fault(429, count=2, path_prefix=fhir_path, retry_after=1)
    site.inject_fault(0, count=40, path_prefix=fhir_path, delay_ms=250)
    log = tmp_path / "worker.log"
    worker = _start_worker(committed_url, own_redis, tmp_path / "first")
    try:
        with factory() as session:
            _wait_for("some deliveries", lambda: _states(session, partner.id)["done"] >= 50, DEADLINE, log)
            assert _states(session, partner.id)["done"] < CHANGES, "the worker finished before it could be killed"
        _kill(worker)
        killed_at = time.monotonic()
        with factory() as session:
            held = set(session.scalars(select(Delivery.id).where(Delivery.state == "in-flight")))
        worker = _start_worker(committed_url, own_redis, tmp_path / "restarted")
        with factory() as session:
            back = _Recovery(session, partner.id, held)
            _wait_for("every delivery", back.all_done, DEADLINE, log)
        print(
            f"\nkill -> all {CHANGES} delivered: {back.all_at - killed_at:.0f} s; the killed worker's "
            f"{len(held)} in-flight rows delivered {back.held_at - killed_at:.0f} s after the kill"
        )
    finally:
        _kill(worker)
        site.clear_faults()
        engine.dispose()

    with Transport() as http, client.connect(http) as fhir:
        system, ours = identifier_system("CarePlan"), set(ids)
        seen = Counter(
            identifier["value"]
            for plan in fhir.search("CarePlan", {"_count": "1000"})
            for identifier in plan.get("identifier", ())
            if identifier.get("system") == system and identifier.get("value") in ours
        )
    assert set(seen) == set(ids), f"{len(set(ids) - set(seen))} changes never arrived"
    assert max(seen.values()) == 1, f"duplicated: {[k for k, v in seen.items() if v > 1][:5]}"
