"""Sync throughput against a real peer, each figure next to a baseline measured in the same run.

    .venv/bin/python bench/sync.py [--pull 10000] [--push 2000] [--memory 10000,100000]

- pull: carebridge's pull (upserts, watermark per page) vs a bare `requests` loop over the same pages;
- push: 2,000 changes (If-Match updates of plans the partner has) in batch Bundles vs one request each;
- memory: the process's peak RSS after a pull of each size; it should stay flat, since only a
  page or two is held at a time.
Starts its own peer site (../shared/peers) and uses a throw-away SQLite database.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.bundles import create_entry, next_link  # noqa: E402
from connectors.http import Transport  # noqa: E402
from service import clock  # noqa: E402
from service.db import make_engine, make_session_factory  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.sync import engine  # noqa: E402
from service.sync.connection import Connections  # noqa: E402
from service.usecases import parties, patients, plans, stays  # noqa: E402
from service.usecases.consumers import CONSUMERS  # noqa: E402
from service.usecases.dispatch import dispatch_pending  # noqa: E402
from service.usecases.partners import add_partner  # noqa: E402
from tests.peers import PeerSite, peers_dir, start_site, stop_sites  # noqa: E402

PAGE = 1000
PULL_ROUNDS = 3
# Push changes are edits of plans already on the partner (If-Match updates), as most changes to a
# case are: the peer answers each conditional create by scanning every stored resource of the
# type, so 2,000 creates would measure the peer's linear scan, not carebridge.
PUSH_PLANS = 100


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


def bare_pull(site: PeerSite) -> tuple[int, float]:
    """The same pages with a bare `requests` loop. Its token is fetched inside the timing, as
    carebridge's pull fetches one (discovery, signed assertion, token request) inside its own."""
    client = site.register_backend_client("system/*.cruds")
    began, count = time.perf_counter(), 0
    with Transport() as http, client.connect(http) as fhir:
        token = fhir._auth.access_token()  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    url: str | None = f"{site.fhir_base}/Patient?_sort=_lastUpdated&_count={PAGE}"
    with requests.Session() as http_session:
        while url:
            bundle = http_session.get(url, headers=headers, timeout=60).json()
            count += len(bundle.get("entry", []))
            url = next_link(bundle)
    return count, time.perf_counter() - began


class Bench:
    def __init__(self, site: PeerSite, workdir: Path) -> None:
        self.site = site
        self.url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade(self.url)
        self.factory = make_session_factory(make_engine(self.url))
        self.keys: dict[str, object] = {}
        with self.factory() as session:
            self.hospital = parties.add_organization(session, name="Bench General", kind="hospital", actor="bench")

    def partner(self, name: str, **types: list[str]) -> object:
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
        partner = self.partner(name, pull_types=["Patient"], push_types=[])
        with self.factory() as session, Connections(self.keys.__getitem__) as conns:  # type: ignore[arg-type]
            began = time.perf_counter()
            report = engine.pull(session, partner, conns, page_size=PAGE)  # type: ignore[arg-type]
            return report.total, time.perf_counter() - began

    def push(self, name: str, changes: int, batch: int) -> float:
        """Seconds to push ``changes`` edits of PUSH_PLANS plans that the partner already has."""
        self.site.reset()
        partner = self.partner(name, pull_types=[], push_types=["CarePlan"])
        with self.factory() as session, Connections(self.keys.__getitem__) as conns:  # type: ignore[arg-type]
            patient = patients.register_patient(session, family_name="Bench", given_name=name, actor="bench")
            # A stay at the partner's hospital: partners receive only their own patients' records.
            hospital_id = self.hospital.id
            stays.admit(session, patient_id=patient.id, hospital_id=hospital_id, admitted_at=clock.now(), actor="bench")
            ids = [
                plans.create_case_plan(session, patient_id=patient.id, title=f"Plan {n}", actor="bench").id
                for n in range(PUSH_PLANS)
            ]
            while dispatch_pending(session, CONSUMERS):  # the pulls' events too, before the plans'
                pass
            tally = engine.push(session, partner, conns)  # type: ignore[arg-type]
            assert tally["done:created"] == PUSH_PLANS, tally
            elapsed, pushed = 0.0, 0
            for round_ in range(changes // PUSH_PLANS):
                for plan_id in ids:
                    plans.update_case_plan(session, plan_id, {"description": f"round {round_}"}, actor="bench")
                while dispatch_pending(session, CONSUMERS):
                    pass
                began = time.perf_counter()
                tally = engine.push(session, partner, conns, batch=batch)  # type: ignore[arg-type]
                elapsed += time.perf_counter() - began
                assert tally["done:updated"] == PUSH_PLANS, tally
                pushed += PUSH_PLANS
        assert pushed == changes, (pushed, changes)
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pull", type=int, default=10_000)
    parser.add_argument("--push", type=int, default=2_000)
    parser.add_argument("--memory", default="10000,100000", help="pull sizes whose peak memory is compared")
    args = parser.parse_args()
    name, peers = f"bench-{int(time.time())}", peers_dir()
    site = start_site(peers, name, "RS384", ["--", "--default-count", "1000"])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run(site, Path(tmp), args)
    finally:
        stop_sites(peers, [name])


def run(site: PeerSite, workdir: Path, args: argparse.Namespace) -> None:
    bench = Bench(site, workdir)
    # A loopback peer on a shared machine is noisy from run to run: three rounds, each on freshly
    # seeded Patients (new to carebridge), and the median round is the figure. Within a round the
    # bare loop runs before and after carebridge's pull (its rate is the mean), so neither side
    # alone meets the peer cold or warmed up.
    rounds = []
    for round_ in range(PULL_ROUNDS):
        site.reset()
        seed_patients(site, args.pull)
        bare_count, bare_before = bare_pull(site)
        ours_count, ours_time = bench.pull(f"pull-{round_}")
        _, bare_after = bare_pull(site)
        assert ours_count == bare_count == args.pull, (ours_count, bare_count)
        bare_rate, ours_rate = bare_count / ((bare_before + bare_after) / 2), ours_count / ours_time
        rounds.append((ours_rate / bare_rate, ours_rate, bare_rate))
        print(f"  round {round_ + 1}: carebridge {ours_rate:,.0f}/s, bare {bare_rate:,.0f}/s", flush=True)
    ratio, ours_rate, bare_rate = statistics.median(rounds)
    print(f"pull {args.pull} resources (median of {PULL_ROUNDS} rounds): carebridge {ours_rate:,.0f}/s, "
          f"bare requests loop {bare_rate:,.0f}/s, ratio {ratio:.2f} (aim >= 0.7)", flush=True)  # fmt: skip

    batched = bench.push("push-batched", args.push, batch=50)
    single = bench.push("push-single", args.push, batch=1)
    print(f"push {args.push} changes (edits of {PUSH_PLANS} plans): batched {args.push / batched:,.0f}/s, "
          f"one request each {args.push / single:,.0f}/s, ratio {single / batched:.2f}x", flush=True)  # fmt: skip

    # The process's peak RSS after each pull (a high-water mark): if a pull held its resources,
    # the larger pull would raise it by hundreds of MiB. tracemalloc would say more, but slows the
    # pull several times over, and a 100,000-resource pull under it takes the better part of an hour.
    previous = 0.0
    for size in (int(s) for s in args.memory.split(",")):
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
