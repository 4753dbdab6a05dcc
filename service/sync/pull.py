"""Incremental pull from one partner: ``_lastUpdated`` watermark per type, one transaction per page.

Each page is applied and its watermark advanced in a single database transaction, so a crash
resumes at the page it stopped in; re-reading that page changes nothing (`incoming` is
idempotent). The watermark is compared with ``ge``, not ``gt``: servers may give several
resources the same instant, and a re-read one is skipped because its version is already stored.
https://hl7.org/fhir/R4/search.html#lastUpdated and https://hl7.org/fhir/R4/http.html#paging

Whatever a partner sends costs only itself:
- Each resource is bounds-checked (`bounds`) and applied in its own savepoint; any exception
  becomes one `SyncError` row (`errors`, PHI-free) and the rest of the page still applies.
- A page that cannot be read (not UTF-8, not JSON, not a Bundle of objects, a next link off the
  partner's server) is recorded, and that type stops for this round at its committed watermark:
  moving past it would advance the watermark over resources never applied. The next round retries it.
- A round has a page and a time budget per partner (`Budget`); when spent, the pull stops after the
  current page and the next round continues from the committed watermarks.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from connectors.bundles import search_resources
from connectors.errors import PermanentError
from connectors.fhir_client import FhirClient
from service import clock
from service.models import Partner, SyncWatermark
from service.models.partners import SYNC_TYPES
from service.sync import errors
from service.sync.bounds import check_resource
from service.sync.incoming import Incoming, apply, upsert_patients

log = logging.getLogger(__name__)
DEFAULT_PAGE_SIZE = 500
# Pages fetched ahead while the current one is applied: network and database work overlap.
PREFETCH = 2
# (resource type, resources done in this page, the partner's Bundle.total for the search when it gave one)
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class Budget:
    """What one pull round may spend on one partner before it yields to the others."""

    pages: int = 200
    seconds: float = 300.0


@dataclass
class PullReport:
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    pages: int = 0
    # Why the round stopped early, if it did ("page budget spent"); the next round continues.
    stopped: str | None = None
    # Types whose pull stopped at a page that could not be read (recorded as a sync error).
    broken: list[str] = field(default_factory=list)

    def add(self, resource_type: str, outcome: str) -> None:
        self.counts.setdefault(resource_type, Counter())[outcome] += 1

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


@contextmanager
def page_transaction(bind: Engine | Connection) -> Iterator[Session]:
    """A session whose use-case commits are savepoints inside one transaction for the page."""
    options: dict[str, Any] = {"join_transaction_mode": "create_savepoint", "expire_on_commit": False}
    if isinstance(bind, Engine):
        with bind.connect() as connection, connection.begin(), Session(connection, **options) as session:
            yield session
    elif bind.in_transaction():  # a connection already in a transaction (tests): the page is a savepoint of it
        with bind.begin_nested(), Session(bind, **options) as session:
            yield session
    else:  # a request's connection, idle (service.app.request_session): a transaction on it
        with bind.begin(), Session(bind, **options) as session:
            yield session


def watermark(session: Session, partner_id: str, resource_type: str) -> SyncWatermark | None:
    return session.scalar(
        select(SyncWatermark).where(
            SyncWatermark.partner_id == partner_id, SyncWatermark.resource_type == resource_type
        )
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def advance_watermark(session: Session, partner_id: str, resource_type: str, last_updated: str) -> None:
    """Move the watermark forward to ``last_updated`` (never back: ``--since`` may re-read older pages)."""
    mark = watermark(session, partner_id, resource_type)
    if mark is None:
        session.add(
            SyncWatermark(
                partner_id=partner_id, resource_type=resource_type, last_updated=last_updated, updated_at=clock.now()
            )
        )
    elif _instant(last_updated) > _instant(mark.last_updated):
        mark.last_updated = last_updated
        mark.updated_at = clock.now()


def prefetched(pages: Iterator[dict[str, Any]], depth: int = PREFETCH) -> Iterator[dict[str, Any]]:
    """Iterate ``pages`` on a helper thread, ``depth`` pages ahead; its errors re-raise here."""
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                if stop.is_set():
                    return
                slots.put(("page", page))
            slots.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
            slots.put(("error", exc))

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def pull_type(
    bind: Engine | Connection,
    partner: Partner,
    fhir: FhirClient,
    resource_type: str,
    report: PullReport,
    *,
    since: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    progress: Progress | None = None,
    budget: Budget | None = None,
    started: float | None = None,
) -> None:
    budget = budget or Budget()
    started = time.monotonic() if started is None else started
    with page_transaction(bind) as session:
        mark = watermark(session, partner.id, resource_type)
        start = since or (mark.last_updated if mark else None)
    params = [("_sort", "_lastUpdated"), ("_count", str(page_size))]
    if start:
        params.append(("_lastUpdated", f"ge{start}"))
    ctx = Incoming(partner, lambda rtype, rid: fhir.read(rtype, rid))
    try:
        for bundle in prefetched(fhir.search_pages(resource_type, params)):
            resources = list(search_resources(bundle))
            with page_transaction(bind) as session:
                newest = _apply_page(session, ctx, resources, report)
                if newest:
                    advance_watermark(session, partner.id, resource_type, newest)
                session.commit()  # the watermark belongs to this page: closing the session would drop it
            report.pages += 1
            if progress:
                total = bundle.get("total")
                progress(resource_type, len(resources), total if isinstance(total, int) else None)
            if report.pages >= budget.pages or time.monotonic() - started >= budget.seconds:
                spent = f"{budget.pages} pages" if report.pages >= budget.pages else f"{budget.seconds:g} s"
                report.stopped = f"the round's budget ({spent}) is spent; the next round continues from the watermark"
                return
        with page_transaction(bind) as session:
            errors.resolved(session, partner.id, resource_type, [""])  # every page read: none is broken now
            session.commit()
    except PermanentError as exc:  # a page it cannot read: stop this type at its watermark, retry next round
        with page_transaction(bind) as session:
            message = f"{exc}; {resource_type} stops at its watermark and is retried next round"
            errors.record(session, partner.id, resource_type, "", message)
            session.commit()
        report.broken.append(resource_type)


def _apply_page(session: Session, ctx: Incoming, resources: list[dict[str, Any]], report: PullReport) -> str | None:
    """Apply what the page holds, each resource on its own; the newest ``lastUpdated`` seen."""
    bounded = [r for r in resources if _bounded(session, ctx, r, report)]
    patients = [r for r in bounded if r.get("resourceType") == "Patient"]
    one_by_one = _apply_patients(session, ctx, patients, report)
    left = {id(r) for r in one_by_one}
    applied = {id(r) for r in patients if id(r) not in left}
    for resource in one_by_one + [r for r in bounded if r.get("resourceType") != "Patient"]:
        if _apply_one(session, ctx, resource, report):
            applied.add(id(resource))
    by_type: dict[str, list[str]] = {}
    for resource in bounded:
        if id(resource) in applied:
            by_type.setdefault(str(resource.get("resourceType")), []).append(str(resource["id"]))
    for resource_type, ids in by_type.items():
        errors.resolved(session, ctx.partner.id, resource_type, ids)
    session.commit()
    stamps = [u for r in resources if isinstance(u := (r.get("meta") or {}).get("lastUpdated"), str)]
    return max(stamps, key=_instant_or_oldest, default=None)


def _instant_or_oldest(text: str) -> datetime:
    try:
        return _instant(text)
    except ValueError:  # a partner's malformed instant never moves the watermark
        return datetime.min.replace(tzinfo=UTC)


def _bounded(session: Session, ctx: Incoming, resource: dict[str, Any], report: PullReport) -> bool:
    try:
        check_resource(resource)
    except errors.Refused as exc:
        _failed(session, ctx, resource, report, str(exc))
        return False
    return True


def _apply_one(session: Session, ctx: Incoming, resource: dict[str, Any], report: PullReport) -> bool:
    try:
        outcome = apply(session, ctx, resource)
        session.commit()  # releases this resource's savepoint
    except Exception as exc:  # noqa: BLE001 - whatever a partner's resource causes costs only that resource
        session.rollback()  # only this resource's savepoint
        _failed(session, ctx, resource, report, errors.reason(exc))
        return False
    report.add(str(resource.get("resourceType")), outcome)
    return True


def _failed(session: Session, ctx: Incoming, resource: dict[str, Any], report: PullReport, message: str) -> None:
    resource_type = str(resource.get("resourceType"))
    report.add(resource_type, "error")
    remote_id = resource.get("id")
    errors.record(session, ctx.partner.id, resource_type, remote_id if isinstance(remote_id, str) else None, message)
    session.commit()


def _apply_patients(session: Session, ctx: Incoming, resources: list[Any], report: PullReport) -> list[Any]:
    """The page's Patients set-based (`upsert_patients`); returns those left to apply one at a time,
    all of them if the batch is refused (then each one's error is recorded on its own)."""
    if not resources:
        return []
    try:
        outcomes, rest = upsert_patients(session, ctx, resources)
        session.commit()
    except Exception:  # noqa: BLE001 - retried one at a time, where each failure is recorded
        session.rollback()
        return resources
    for outcome in outcomes:
        report.add("Patient", outcome)
    return rest


def pull_partner(
    bind: Engine | Connection,
    partner: Partner,
    fhir: FhirClient,
    *,
    types: list[str] | None = None,
    since: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    progress: Progress | None = None,
    budget: Budget | None = None,
) -> PullReport:
    """Pull every type the partner is configured for (or ``types``), in dependency order, within ``budget``."""
    wanted = types or partner.pull_types
    report = PullReport()
    started = time.monotonic()
    for resource_type in (t for t in SYNC_TYPES if t in wanted):
        pull_type(
            bind, partner, fhir, resource_type, report, since=since, page_size=page_size, progress=progress,
            budget=budget, started=started,
        )  # fmt: skip
        if report.stopped:
            log.info("pull %s: %s", partner.name, report.stopped)
            break
    return report
