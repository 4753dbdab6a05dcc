"""Sync throughput against a real peer, each figure next to a baseline measured in the same run.

    .venv/bin/python bench/sync.py [--pull 10000] [--push 2000] [--memory 10000,100000]

- pull: carebridge's pull (upserts, watermark per page) vs a bare `requests` loop over the same pages;
- incremental pull: after 1 % of the pulled Patients changed at the partner, the next pull must
  fetch only those (plus the one at the watermark, which `ge` returns and the pull skips), next to
  the full pull of the same Patients and a bare loop over the same incremental search;
- push: 2,000 changes (If-Match updates of plans the partner has) vs a bare client posting the
  same batch Bundles with If-Match, with as many requests in flight as carebridge (PostgreSQL);
- scale-out: 2,000 changes delivered by 4 worker processes vs 1, counting duplicates (PostgreSQL);
- memory: the process's peak RSS after a pull of each size; it should stay flat, since only a
  page or two is held at a time.
Starts its own peer site (../shared/peers); pulls use a throw-away SQLite database, pushes a
throw-away PostgreSQL one (``--pg``, default 127.0.0.1:5432), where parallel senders run.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import DEFAULT_PG, scratch_database  # noqa: E402
from connectors.bundles import create_entry, next_link  # noqa: E402
from connectors.http import Closing, Transport  # noqa: E402
from service import clock  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine, make_session_factory  # noqa: E402
from service.heap import settle_heap  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import Delivery, Partner  # noqa: E402
from service.sync import engine  # noqa: E402
from service.sync.connection import Connections  # noqa: E402
from service.sync.incoming import save_link  # noqa: E402
from service.sync.outgoing import resource_for_partner  # noqa: E402
from service.sync.pull import PullReport, watermark  # noqa: E402
from service.sync.resource_types import carebridge_id  # noqa: E402
from service.usecases import parties, patients, plans, stays  # noqa: E402
from service.usecases.consumers import CONSUMERS  # noqa: E402
from service.usecases.dispatch import dispatch_pending  # noqa: E402
from service.usecases.partners import add_partner  # noqa: E402
from tests.peers import PeerSite, peers_dir, start_site, stop_sites  # noqa: E402

PAGE = 1000
PULL_ROUNDS = 3
# Push changes are edits of plans already on the partner (If-Match updates), as most changes to a
# case are: the peer answers each conditional create by scanning every stored resource of the
# type, so 2,000 creates would measure the peer's linear scan, not carebridge. 500 plans make ten
# batches a round, enough for every sender to have one in flight.
PUSH_PLANS = 500
PUSH = engine.PushSettings.from_settings(Settings())  # the defaults: batches of 50, 4 in flight


def seed_patients(site: PeerSite, count: int) -> None:
    client = site.register_backend_client("system/*.cruds")
    with Transport() as http, client.connect(http) as fhir:
        for start in range(0, count, PAGE):
            fhir.batch(
                [
                    create_entry({"resourceType": "Patient", "name": [{"family": f"Bench{n}", "given": ["B"]}]})
                    for n in range(start, min(count, start + PAGE))
                ]
            )


def change_patients(site: PeerSite, every: int) -> int:
    """Rename every ``every``-th Patient at the partner (a new version and lastUpdated); how many."""
    client = site.register_backend_client("system/*.cruds")
    with Transport() as http, client.connect(http) as fhir:
        chosen = [p for n, p in enumerate(fhir.search("Patient", {"_count": str(PAGE)})) if n % every == 0]
        for patient in chosen:
            patient["name"] = [{"family": f"Renamed{patient['id'][:8]}", "given": ["B"]}]
            fhir.update(patient)
    return len(chosen)


def bare_pull(site: PeerSite, since: str | None = None) -> tuple[int, float]:
    """The same pages with a bare `requests` loop. Its token is fetched inside the timing, as
    carebridge's pull fetches one (discovery, signed assertion, token request) inside its own."""
    client = site.register_backend_client("system/*.cruds")
    began, count = time.perf_counter(), 0
    with Transport() as http, client.connect(http) as fhir:
        token = fhir._auth.access_token()  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    url: str | None = f"{site.fhir_base}/Patient?_sort=_lastUpdated&_count={PAGE}"
    params = {"_lastUpdated": f"ge{since}"} if since else None
    with requests.Session() as http_session:
        while url:
            bundle = http_session.get(url, headers=headers, params=params, timeout=60).json()
            count += len(bundle.get("entry", []))
            url, params = next_link(bundle), None
    return count, time.perf_counter() - began


class Bench:
    def __init__(self, site: PeerSite, url: str) -> None:
        self.site = site
        self.url = url
        upgrade(self.url)
        self.factory = make_session_factory(make_engine(self.url))
        self.keys: dict[str, object] = {}
        self.last_partner: Partner | None = None  # the partner of the latest `pull`
        with self.factory() as session:
            self.hospital = parties.add_organization(session, name="Bench General", kind="hospital", actor="bench")

    def partner(self, name: str, **types: list[str]) -> Partner:
        client = self.site.register_backend_client("system/*.cruds")
        key = client.settings.private_jwk
        self.keys[key["kid"]] = key
        with self.factory() as session:
            return add_partner(
                session, name=name, kind="ehr", organization_id=self.hospital.id, fhir_base=self.site.fhir_base,
                client_id=client.settings.client_id, token_endpoint=self.site.token_endpoint, key_kid=key["kid"],
                scopes="system/*.cruds", **types,
            )  # fmt: skip

    def pull(self, name: str) -> tuple[int, float]:
        """Pull rounds until one ends within its budget (a large pull spans rounds, as on the beat)."""
        self.last_partner = self.partner(name, pull_types=["Patient"], push_types=[])
        total, elapsed = 0, 0.0
        while True:
            report, seconds = self.pull_again(self.last_partner)
            total, elapsed = total + report.total, elapsed + seconds
            if report.stopped is None:
                return total, elapsed

    def pull_again(self, partner: Partner) -> tuple[PullReport, float]:
        """A pull from the partner's stored watermark, as the next scheduled round makes it."""
        with self.factory() as session, Connections(self.keys.__getitem__) as conns:  # type: ignore[arg-type]
            began = time.perf_counter()
            report = engine.pull(session, partner, conns, page_size=PAGE)
            return report, time.perf_counter() - began

    def watermark(self, partner: Partner) -> str:
        with self.factory() as session:
            mark = watermark(session, partner.id, "Patient")
            assert mark is not None
            return mark.last_updated

    def seed_plans(self, name: str, count: int) -> tuple[Partner, list[str]]:
        """A partner that already has ``count`` plans of one patient, linked as a push links them.

        The partner gets them by plain batch creates, not carebridge's conditional ones: the peer
        answers each If-None-Exist by scanning every stored CarePlan, so thousands of conditional
        creates would take most of an hour and measure nothing but that scan."""
        partner = self.partner(name, pull_types=[], push_types=["CarePlan"])
        client = self.site.register_backend_client("system/*.cruds")
        with self.factory() as session, Transport() as http, client.connect(http) as fhir:
            patient = patients.register_patient(session, family_name="Bench", given_name=name, actor="bench")
            # A stay at the partner's hospital: partners receive only their own patients' records.
            hospital_id = self.hospital.id
            stays.admit(session, patient_id=patient.id, hospital_id=hospital_id, admitted_at=clock.now(), actor="bench")
            records = [
                plans.create_case_plan(session, patient_id=patient.id, title=f"Plan {n}", actor="bench")
                for n in range(count)
            ]
            for chunk in _chunks(records, PAGE):
                bodies = [resource_for_partner(session, partner, "CasePlan", record) for record in chunk]
                answers = fhir.batch([create_entry(body) for body in bodies])
                for record, answer in zip(chunk, answers, strict=True):
                    assert answer.resource is not None, answer
                    save_link(session, partner.id, record.id, answer.resource, synced_version=record.version)
            session.commit()
        with self.factory() as session, Connections(self.keys.__getitem__) as conns:  # type: ignore[arg-type]
            tally = engine.push(session, partner, conns, PUSH)  # the creates' own deliveries: nothing to send
            assert tally["done:superseded"] == count, tally
        return partner, [record.id for record in records]

    def edit(self, ids: list[str], description: str) -> None:
        """One change to each plan, relayed to the outbox (untimed)."""
        with self.factory() as session:
            for plan_id in ids:
                plans.update_case_plan(session, plan_id, {"description": description}, actor="bench")
            dispatch_pending(session, CONSUMERS)

    def connections(self, partner: Partner) -> Connections:
        """Connections as a worker process keeps them across push rounds (`service.tasks.sync`):
        its pooled HTTP connections and its token, fetched here before any clock starts."""
        conns = Connections(self.keys.__getitem__)  # type: ignore[arg-type]
        with conns.client(partner) as fhir:
            fhir._auth.access_token()  # type: ignore[union-attr]
        return conns

    def push(self, partner: Any, conns: Connections, how: engine.PushSettings) -> tuple[Counter[str], float]:
        with self.factory() as session:
            began = time.perf_counter()
            tally = engine.push(session, partner, conns, how)
            return tally, time.perf_counter() - began


class BarePush(Closing):
    """A bare client: the same batch Bundles of If-Match PUTs, ``parallel`` requests in flight,
    one requests Session per thread, kept across rounds as carebridge's worker keeps its pooled
    connections, bodies built and the token fetched before the clock starts, as carebridge's
    worker has its cached one. It writes copies of carebridge's plans of its own, so both sides
    update the same number of equal resources."""

    def __init__(self, site: PeerSite, resources: list[dict[str, Any]], parallel: int) -> None:
        self.client = site.register_backend_client("system/*.cruds")
        with Transport() as http, self.client.connect(http) as fhir:
            answers = [fhir.batch([create_entry(r) for r in chunk]) for chunk in _chunks(resources, PUSH.batch)]
        self.url = site.fhir_base
        self.copies = [answer.resource for chunk in answers for answer in chunk if answer.resource]
        assert len(self.copies) == len(resources)
        self._pool = ThreadPoolExecutor(parallel)
        self._local = threading.local()

    def close(self) -> None:
        self._pool.shutdown()

    def round(self, description: str) -> float:
        """Seconds to update every copy once. The token is fetched for each round, untimed (a
        loaded machine's carebridge rounds in between can outlast the last one's lifetime)."""
        with Transport() as http, self.client.connect(http) as fhir:
            token = fhir._auth.access_token()  # type: ignore[union-attr]
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        bundles = [
            {"resourceType": "Bundle", "type": "batch", "entry": [self._put(r, description) for r in chunk]}
            for chunk in _chunks(self.copies, PUSH.batch)
        ]
        began = time.perf_counter()
        answered = list(self._pool.map(self._post, bundles))
        seconds = time.perf_counter() - began
        self.copies = [entry["resource"] for answer in answered for entry in answer["entry"]]
        assert len(self.copies) == sum(len(b["entry"]) for b in bundles), "an update was refused"
        return seconds

    @staticmethod
    def _put(resource: dict[str, Any], description: str) -> dict[str, Any]:
        version = resource["meta"]["versionId"]
        request = {"method": "PUT", "url": f"CarePlan/{resource['id']}", "ifMatch": f'W/"{version}"'}
        return {"resource": {**resource, "description": description}, "request": request}

    def _post(self, bundle: dict[str, Any]) -> dict[str, Any]:
        http = getattr(self._local, "session", None) or requests.Session()
        self._local.session = http
        response = http.post(self.url, json=bundle, headers=self.headers, timeout=60)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def compare_push(site: PeerSite, pg_url: str, changes: int) -> None:
    """carebridge's push of ``changes`` edits vs the bare client, their rounds alternating.

    The peer answers a write more slowly the more versions it keeps (of every resource, not only
    the written one), so each side's rate drops round after round: rounds run bare, carebridge,
    bare, ..., bare, and each carebridge round is measured against the mean of the bare rounds
    just before and after it, which met the peer with as many versions behind it on average."""
    site.reset()
    with scratch_database(pg_url) as (url, _):
        bench = Bench(site, url)
        partner, ids = bench.seed_plans("push", PUSH_PLANS)
        client = site.register_backend_client("system/*.cruds")
        with Transport() as http, client.connect(http) as fhir:
            stored = fhir.search("CarePlan", {"_count": "1000"})
            sent = [{k: v for k, v in r.items() if k not in ("id", "meta")} for r in stored]
        rounds = changes // PUSH_PLANS
        with BarePush(site, sent, PUSH.parallel) as bare, bench.connections(partner) as conns:
            bare_rounds = [bare.round("bare 0")]
            ours_seconds = 0.0
            for n in range(rounds):
                bench.edit(ids, f"round {n}")
                tally, seconds = bench.push(partner, conns, PUSH)
                assert tally["done:updated"] == PUSH_PLANS, tally
                ours_seconds += seconds
                bare_rounds.append(bare.round(f"bare {n + 1}"))
                before, after = (PUSH_PLANS / s for s in bare_rounds[-2:])
                print(f"  round {n + 1}: carebridge {PUSH_PLANS / seconds:,.0f}/s, "
                      f"bare {before:,.0f}/s before, {after:,.0f}/s after", flush=True)  # fmt: skip
        bare_seconds = sum((before + after) / 2 for before, after in itertools.pairwise(bare_rounds))
    done = rounds * PUSH_PLANS
    ours, base = done / ours_seconds, done / bare_seconds
    print(f"push {done} changes (edits of {PUSH_PLANS} plans, batches of {PUSH.batch}, {PUSH.parallel} in flight): "
          f"carebridge {ours:,.0f}/s, bare client {base:,.0f}/s, ratio {ours / base:.2f} (aim >= 0.7)",
          flush=True)  # fmt: skip


def _push_worker(url: str, partner_id: str, keys: dict[str, Any], ready: Any) -> None:
    """One worker process: one sender (its own engine, connections and token), pushing all that is due."""
    factory = make_session_factory(make_engine(url))
    with factory() as session, Connections(keys.__getitem__) as conns:
        partner = session.get_one(Partner, partner_id)
        conns.client(partner).close()  # the token endpoint is known before the clock starts
        ready.wait()
        engine.push(session, partner, conns, replace(PUSH, parallel=1))


def scale_out(site: PeerSite, pg_url: str, changes: int) -> None:
    """``changes`` plan edits delivered by 1 worker process, then by 4; each change must reach the
    partner exactly once (one resource per plan, at version 2: created, then this one edit)."""
    rates = {}
    for workers in (1, 4):
        site.reset()
        with scratch_database(pg_url) as (url, _):
            bench = Bench(site, url)
            partner, ids = bench.seed_plans(f"scale-{workers}", changes)
            bench.edit(ids, "scale-out")
            spawn = multiprocessing.get_context("spawn")
            ready = spawn.Barrier(workers + 1)  # the workers import and connect before the clock starts
            args = (url, partner.id, bench.keys, ready)
            procs = [spawn.Process(target=_push_worker, args=args) for _ in range(workers)]
            for proc in procs:
                proc.start()
            ready.wait()
            began = time.perf_counter()
            for proc in procs:
                proc.join()
            seconds = time.perf_counter() - began
            with bench.factory() as session:
                counts = session.execute(
                    select(Delivery.state, func.count()).where(Delivery.state != "done").group_by(Delivery.state)
                )
                undone = {state: count for state, count in counts}
        client = site.register_backend_client("system/*.cruds")
        with Transport() as http, client.connect(http) as fhir:
            stored = list(fhir.search("CarePlan", {"_count": "1000"}))
        per_plan = Counter(carebridge_id(r) for r in stored)
        duplicates = sum(n - 1 for n in per_plan.values() if n > 1)
        twice = sum(1 for r in stored if r["meta"]["versionId"] != "2")
        assert set(per_plan) == set(ids), "a change never arrived"
        rates[workers] = changes / seconds
        print(f"  {workers} worker process(es): {changes} changes in {seconds:.1f} s ({rates[workers]:,.0f}/s), "
              f"{duplicates} duplicate resources, {twice} written more than once, not done {undone or 0}",
              flush=True)  # fmt: skip
    print(f"scale-out on PostgreSQL: 4 workers {rates[4]:,.0f}/s vs 1 worker {rates[1]:,.0f}/s, "
          f"{rates[4] / rates[1]:.2f}x (aim >= 2)", flush=True)  # fmt: skip

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pull", type=int, default=10_000)
    parser.add_argument("--push", type=int, default=2_000)
    parser.add_argument("--scale", type=int, default=2_000, help="changes the scale-out delivers")
    parser.add_argument("--memory", default="10000,100000", help="pull sizes whose peak memory is compared")
    parser.add_argument("--parts", default="pull,push,scale,memory", help="which figures to measure")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL for the push figures (a scratch database)")
    args = parser.parse_args()
    name, peers = f"bench-{int(time.time())}", peers_dir()
    site = start_site(peers, name, "RS384", ["--", "--default-count", "1000"])
    settle_heap()  # as a worker process does at start: carebridge runs here as it runs in a worker
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run(site, Path(tmp), args)
    finally:
        stop_sites(peers, [name])


def run(site: PeerSite, workdir: Path, args: argparse.Namespace) -> None:
    parts = set(args.parts.split(","))
    bench = Bench(site, f"sqlite:///{workdir / 'bench.db'}")
    if "pull" in parts:
        compare_pull(site, bench, args.pull)
        incremental_pull(site, bench, args.pull)
    if "push" in parts:
        compare_push(site, args.pg, args.push)
    if "scale" in parts:
        scale_out(site, args.pg, args.scale)
    if "memory" in parts:
        pull_memory(site, bench, args.memory)


def compare_pull(site: PeerSite, bench: Bench, size: int) -> None:
    # A loopback peer on a shared machine is noisy from run to run: three rounds, each on freshly
    # seeded Patients (new to carebridge), and the median round is the figure. Within a round the
    # bare loop runs before and after carebridge's pull (its rate is the mean), so neither side
    # alone meets the peer cold or warmed up.
    rounds = []
    for round_ in range(PULL_ROUNDS):
        site.reset()
        seed_patients(site, size)
        bare_count, bare_before = bare_pull(site)
        ours_count, ours_time = bench.pull(f"pull-{round_}")
        _, bare_after = bare_pull(site)
        assert ours_count == bare_count == size, (ours_count, bare_count)
        bare_rate, ours_rate = bare_count / ((bare_before + bare_after) / 2), ours_count / ours_time
        rounds.append((ours_rate / bare_rate, ours_rate, bare_rate))
        print(f"  round {round_ + 1}: carebridge {ours_rate:,.0f}/s, bare {bare_rate:,.0f}/s", flush=True)
    ratio, ours_rate, bare_rate = statistics.median(rounds)
    print(f"pull {size} resources (median of {PULL_ROUNDS} rounds): carebridge {ours_rate:,.0f}/s, "
          f"bare requests loop {bare_rate:,.0f}/s, ratio {ratio:.2f} (aim >= 0.7)", flush=True)  # fmt: skip


def incremental_pull(site: PeerSite, bench: Bench, size: int) -> None:
    """The last pull's partner has all ``size`` Patients; 1 % of them change at the partner."""
    assert bench.last_partner is not None
    mark = bench.watermark(bench.last_partner)
    full_count, full_seconds = bare_pull(site)  # the same Patients fetched in full, for scale
    changed = change_patients(site, 100)
    bare_count, bare_seconds = bare_pull(site, since=mark)
    report, seconds = bench.pull_again(bench.last_partner)
    counts = report.counts["Patient"]
    assert counts.get("updated") == changed and report.total == changed + 1, (changed, report.counts)
    print(f"incremental pull after {changed} of {size} Patients changed: carebridge fetched {report.total} "
          f"({counts['updated']} updated, {counts.get('unchanged', 0)} at the watermark, skipped) in {seconds:.2f} s; "
          f"bare loop over the same search {bare_count} in {bare_seconds:.2f} s; "
          f"bare loop over all {full_count} {full_seconds:.2f} s", flush=True)  # fmt: skip


def pull_memory(site: PeerSite, bench: Bench, sizes: str) -> None:
    # The process's peak RSS after each pull (a high-water mark): if a pull held its resources,
    # the larger pull would raise it by hundreds of MiB. tracemalloc would say more, but slows the
    # pull several times over, and a 100,000-resource pull under it takes the better part of an hour.
    previous = 0.0
    for size in (int(s) for s in sizes.split(",")):
        site.reset()
        seed_patients(site, size)
        count, seconds = bench.pull(f"memory-{size}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
        growth = f", {peak / previous:.2f}x the previous size's" if previous else ""
        rate = count / seconds
        print(f"peak RSS after pulling {count} resources ({rate:,.0f}/s): {peak:,.0f} MiB{growth}", flush=True)
        previous = peak


if __name__ == "__main__":
    main()
