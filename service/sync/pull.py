"""Incremental pull from one partner: ``_lastUpdated`` watermark per type, one transaction per page.

Each page is applied and its watermark advanced in a single database transaction, so a crash
resumes at the page it stopped in; re-reading that page changes nothing (`incoming` is
idempotent). Each resource runs in its own savepoint: one the use cases refuse is recorded as a
`SyncError` and the rest of the page still applies. The watermark is compared with ``ge``, not
``gt``: servers may give several resources the same instant, and a re-read one is a no-op.
https://hl7.org/fhir/R4/search.html#lastUpdated and https://hl7.org/fhir/R4/http.html#paging
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from connectors.bundles import search_resources
from connectors.fhir_client import FhirClient
from fhir_mappings import MappingError
from service import clock
from service.models import Partner, SyncError, SyncWatermark
from service.models.partners import SYNC_TYPES
from service.sync.incoming import Incoming, apply, upsert_patients
from service.usecases.errors import UseCaseError

DEFAULT_PAGE_SIZE = 500
# Pages fetched ahead while the current one is applied: network and database work overlap.
PREFETCH = 2
Progress = Callable[[str, int], None]  # (resource type, resources done in this page)


@dataclass
class PullReport:
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    pages: int = 0

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
    else:  # a connection already in a transaction (tests): the page is a savepoint of it
        with bind.begin_nested(), Session(bind, **options) as session:
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
) -> None:
    with page_transaction(bind) as session:
        mark = watermark(session, partner.id, resource_type)
        start = since or (mark.last_updated if mark else None)
    params = [("_sort", "_lastUpdated"), ("_count", str(page_size))]
    if start:
        params.append(("_lastUpdated", f"ge{start}"))
    ctx = Incoming(partner, lambda rtype, rid: fhir.read(rtype, rid))
    for bundle in prefetched(fhir.search_pages(resource_type, params)):
        resources = list(search_resources(bundle))
        with page_transaction(bind) as session:
            newest = _apply_page(session, ctx, resources, report)
            if newest:
                advance_watermark(session, partner.id, resource_type, newest)
                session.commit()  # the watermark belongs to this page: closing the session would drop it
        report.pages += 1
        if progress:
            progress(resource_type, len(resources))


def _apply_page(session: Session, ctx: Incoming, resources: list[dict[str, Any]], report: PullReport) -> str | None:
    one_by_one = _apply_patients(session, ctx, [r for r in resources if r.get("resourceType") == "Patient"], report)
    for resource in one_by_one + [r for r in resources if r.get("resourceType") != "Patient"]:
        rtype = str(resource.get("resourceType"))
        try:
            report.add(rtype, apply(session, ctx, resource))
            session.commit()  # releases this resource's savepoint
        except (UseCaseError, MappingError, LookupError) as exc:
            session.rollback()  # only this resource's savepoint
            report.add(rtype, "error")
            session.add(
                SyncError(
                    partner_id=ctx.partner.id,
                    at=clock.now(),
                    resource_type=rtype,
                    remote_id=resource.get("id"),
                    message=str(exc),
                )
            )
            session.commit()
    stamps = [str(u) for r in resources if (u := (r.get("meta") or {}).get("lastUpdated"))]
    return max(stamps, key=_instant, default=None)


def _apply_patients(session: Session, ctx: Incoming, resources: list[dict[str, Any]], report: PullReport) -> list[Any]:
    """The page's Patients set-based (`upsert_patients`); returns those left to apply one at a time,
    all of them if the batch is refused (then each one's error is recorded on its own)."""
    if not resources:
        return []
    try:
        outcomes, rest = upsert_patients(session, ctx, resources)
        session.commit()
    except (UseCaseError, MappingError, LookupError):
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
) -> PullReport:
    """Pull every type the partner is configured for (or ``types``), in dependency order."""
    wanted = types or partner.pull_types
    report = PullReport()
    for resource_type in (t for t in SYNC_TYPES if t in wanted):
        pull_type(bind, partner, fhir, resource_type, report, since=since, page_size=page_size, progress=progress)
    return report
