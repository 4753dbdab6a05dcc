"""Deliver claimed outbox rows to a partner: every write is conditional, so resending is harmless.

- Not yet on the partner: conditional create on carebridge's business identifier (If-None-Exist).
  A 200 instead of 201 means an earlier attempt already created it (the worker died before it
  could record that): the existing resource is linked, and updated if it is older than ours.
- Already there: update with If-Match on the partner's version (https://hl7.org/fhir/R4/http.html#concurrency).
  On 412 or 409 the partner's current version is read and merged three-way when the two sides
  changed different elements; otherwise the row becomes a ``conflict`` with both versions.
- A row is ``done`` only once the partner confirmed the write. Temporary failures are retried
  later (honouring Retry-After); permanent ones go to ``dead`` with the partner's OperationOutcome.
- A type the partner cannot write (CapabilityStatement or a 405) is done as "partner reads from
  carebridge": it reads the record from carebridge's FHIR API instead.
- Where the partner supports ``batch``, the rows go out in one batch Bundle; each entry is then
  handled like a single write (https://hl7.org/fhir/R4/http.html#transaction).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from connectors.bundles import create_entry, update_entry
from connectors.errors import Conflict, ConnectorError, NotSupported, TemporaryError
from connectors.fhir_client import FhirClient
from service import clock
from service.models import Delivery, Partner
from service.sync.capability import PARTNER_READS, accepts_write, refused_type, supports_batch
from service.sync.incoming import link_of, save_link
from service.sync.merge import changed_elements, three_way
from service.sync.outgoing import load, resource_for_partner
from service.sync.resource_types import identifier_token
from service.usecases.unit_of_work import unit_of_work

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)
Json = dict[str, Any]


@dataclass(frozen=True)
class Prepared:
    """One row's write, prepared from the record as it is now."""

    delivery_id: int
    entity_id: str
    version: int | None
    resource: Json
    remote_id: str | None  # None: create
    remote_version: str | None
    base: Json | None  # the partner's resource as carebridge last saw it

    @property
    def entry(self) -> Json:
        if self.remote_id is None:
            return create_entry(self.resource, if_none_exist=f"identifier={self._token}")
        return update_entry({**self.resource, "id": self.remote_id}, if_match=etag(self.remote_version))

    @property
    def _token(self) -> str:
        return identifier_token(self.resource["resourceType"], self.entity_id)


@dataclass(frozen=True)
class Written:
    status: int
    resource: Json | None
    location: str | None


def etag(version: str | None) -> str | None:
    return f'W/"{version}"' if version is not None else None


def deliver(session: Session, partner: Partner, fhir: FhirClient, delivery_ids: Sequence[int]) -> Counter[str]:
    """Send the claimed rows; how many ended in each state/result (e.g. ``done:created``)."""
    tally: Counter[str] = Counter()
    prepared = [p for p in (_prepare(session, partner, i, tally) for i in delivery_ids) if p is not None]
    if len(prepared) > 1 and supports_batch(partner.capabilities):
        answers = fhir.batch([p.entry for p in prepared])
        for item, answer in zip(prepared, answers, strict=True):
            error = answer.error()
            written = Written(answer.status, answer.resource, answer.location) if error is None else None
            _settle(session, partner, fhir, item, written, error, tally)
    else:
        for item in prepared:
            written, error = _write_one(fhir, item)
            _settle(session, partner, fhir, item, written, error, tally)
    return tally


def _write_one(fhir: FhirClient, item: Prepared) -> tuple[Written | None, ConnectorError | None]:
    try:
        if item.remote_id is None:
            result = fhir.create(item.resource, if_none_exist=item.entry["request"]["ifNoneExist"])
        else:
            result = fhir.update({**item.resource, "id": item.remote_id}, if_match=etag(item.remote_version))
    except ConnectorError as exc:
        return None, exc
    return Written(result.status, result.resource, result.location), None


def _prepare(session: Session, partner: Partner, delivery_id: int, tally: Counter[str]) -> Prepared | None:
    with unit_of_work(session):
        row = session.get(Delivery, delivery_id)
        if row is None or row.state != "in-flight":
            return None  # finished by someone else meanwhile
        record = load(session, row.entity_type, row.entity_id)
        if record is None:
            _finish(row, tally, "done", "gone")
            return None
        link = link_of(session, partner.id, row.entity_type, row.entity_id)
        version = getattr(record, "version", None)
        if link is not None and version is not None and (link.synced_version or 0) >= version:
            _finish(row, tally, "done", "superseded")  # the partner already has this version
            return None
        if not accepts_write(partner.capabilities, row.resource_type, create=link is None):
            _finish(row, tally, "done", PARTNER_READS)
            return None
        return Prepared(
            delivery_id=row.id,
            entity_id=row.entity_id,
            version=version,
            resource=resource_for_partner(session, partner.id, row.entity_type, record),
            remote_id=link.remote_id if link else None,
            remote_version=link.remote_version if link else None,
            base=link.remote_json if link else None,
        )


def _finish(row: Delivery, tally: Counter[str], state: str, result: str | None, **fields: Any) -> None:
    row.state, row.result, row.lease_until, row.updated_at = state, result, None, clock.now()
    for key, value in fields.items():
        setattr(row, key, value)
    tally[f"{state}:{result}" if result else state] += 1


def _settle(
    session: Session,
    partner: Partner,
    fhir: FhirClient,
    item: Prepared,
    written: Written | None,
    error: ConnectorError | None,
    tally: Counter[str],
) -> None:
    if isinstance(error, Conflict):
        written, error, result = _merge(fhir, item, error)
    else:
        result = "created" if written is not None and written.status == 201 else "updated"
    if written is not None and item.remote_id is None and written.status != 201:
        # If-None-Exist matched: an earlier attempt created it; bring it up to our version.
        written, error, result = _catch_up(fhir, item, written)
    with unit_of_work(session):
        row = session.get_one(Delivery, item.delivery_id)
        if refused_type(error):
            partner.capabilities_read_at = None  # stale: the push round reads the statement again
        if written is not None:
            save_link(session, partner.id, item.entity_id, _confirmed(fhir, item, written), synced_version=item.version)
            _finish(row, tally, "done", result, error=None, outcome=None)
        elif isinstance(error, NotSupported):
            _finish(row, tally, "done", PARTNER_READS, outcome=error.outcome)
        elif isinstance(error, BothChanged):
            _finish(row, tally, "conflict", None, error=str(error), ours=item.resource, theirs=error.outcome)
        elif isinstance(error, TemporaryError | Conflict) and row.attempts < MAX_ATTEMPTS:
            _retry_later(row, tally, error)
        else:
            assert error is not None
            _finish(row, tally, "dead", type(error).__name__, error=str(error), outcome=error.outcome)


def _retry_later(row: Delivery, tally: Counter[str], error: ConnectorError) -> None:
    hint = error.retry_after if isinstance(error, TemporaryError) else None
    delay = timedelta(seconds=hint) if hint is not None else min(MAX_BACKOFF, timedelta(seconds=2**row.attempts))
    row.state, row.lease_until, row.error = "pending", None, str(error)
    row.due_at = row.updated_at = clock.now() + delay
    tally["pending:retry"] += 1


class BothChanged(Conflict):
    """Both sides changed the same elements; ``outcome`` holds the partner's version."""


def _merge(fhir: FhirClient, item: Prepared, error: Conflict) -> tuple[Written | None, ConnectorError | None, str]:
    """After a 409/412: merge with the partner's current version when the changes do not overlap."""
    if item.remote_id is None:  # a conditional create matched several resources: a person decides
        return None, BothChanged(str(error), status=error.status, outcome=error.outcome), "conflict"
    try:
        theirs = fhir.read(item.resource["resourceType"], item.remote_id)
    except ConnectorError as exc:
        return None, exc, "retry"
    merged = three_way(item.base or {}, item.resource, theirs)
    if merged.merged is None:
        conflict = BothChanged(f"both sides changed {', '.join(merged.conflicting)}", status=409, outcome=theirs)
        return None, conflict, "conflict"
    version = str((theirs.get("meta") or {}).get("versionId"))
    try:
        result = fhir.update({**merged.merged, "id": item.remote_id}, if_match=etag(version))
    except ConnectorError as exc:  # moved again meanwhile: the row is retried from the start
        return None, exc, "retry"
    return Written(result.status, result.resource, result.location), None, "merged"


def _catch_up(fhir: FhirClient, item: Prepared, found: Written) -> tuple[Written | None, ConnectorError | None, str]:
    existing = _confirmed(fhir, item, found)
    if not changed_elements(existing, item.resource):
        return found, None, "unchanged"
    version = (existing.get("meta") or {}).get("versionId")
    try:
        result = fhir.update({**item.resource, "id": existing["id"]}, if_match=etag(str(version)))
    except ConnectorError as exc:
        return None, exc, "retry"
    return Written(result.status, result.resource, result.location), None, "updated"


def _confirmed(fhir: FhirClient, item: Prepared, written: Written) -> Json:
    """The partner's copy after the write: the body it returned, or a read of its Location."""
    if written.resource and written.resource.get("id"):
        return written.resource
    rtype = item.resource["resourceType"]
    parts = (written.location or "").split("/")
    remote_id = parts[parts.index(rtype) + 1] if rtype in parts else item.remote_id
    if remote_id is None:
        raise ValueError(f"the partner confirmed a {rtype} write without saying where it is")
    return fhir.read(rtype, remote_id)


def resolve_conflict(session: Session, delivery_id: int, take: str) -> Delivery:
    """A person chose: ``ours`` pushes carebridge's version over the partner's (If-Match on theirs);
    ``theirs`` keeps the partner's version and stops pushing this change."""
    if take not in ("ours", "theirs"):
        raise ValueError("take 'ours' or 'theirs'")
    with unit_of_work(session):
        row = session.get_one(Delivery, delivery_id)
        if row.state != "conflict":
            raise ValueError(f"delivery {delivery_id} is {row.state}, not in conflict")
        theirs = row.theirs or {}
        link = link_of(session, row.partner_id, row.entity_type, row.entity_id)
        if link is not None:
            # Their version becomes the agreed base: the next write goes over it without a new conflict.
            save_link(session, row.partner_id, row.entity_id, theirs, link=link)
        now = clock.now()
        if take == "ours":
            row.state, row.due_at, row.attempts, row.result = "pending", now, 0, None
        else:
            row.state, row.result = "done", "theirs-kept"
            if link is not None:
                link.synced_version = row.version
        row.updated_at = now
        return row
