"""Deliver claimed outbox rows to a partner: every write is conditional, so resending is harmless.

- Not yet on the partner: conditional create on carebridge's business identifier (If-None-Exist).
  A 200 instead of 201 means an earlier attempt already created it (the worker died before it
  could record that): the existing resource is linked, and updated if it is older than ours.
  The very first attempt to send a record to a partner is a plain create: nothing can be there
  yet, and a conditional create costs the partner a search per entry (on some servers a scan of
  every stored resource of the type). The attempt counter is committed with the claim, before the
  request leaves, so any attempt after one whose answer carebridge may not have seen (a killed
  worker, a timeout, a 5xx) is conditional again (https://hl7.org/fhir/R4/http.html#ccreate).
- Already there: update with If-Match on the partner's version (https://hl7.org/fhir/R4/http.html#concurrency).
  On 412 or 409 the partner's current version is read and merged three-way when the two sides
  changed different elements; otherwise the row becomes a ``conflict`` with both versions.
- A row is ``done`` only once the partner confirmed the write. Temporary failures are retried
  later (honouring Retry-After); permanent ones go to ``dead`` with the partner's OperationOutcome.
- A type the partner cannot write (CapabilityStatement or a 405) is done as "partner reads from
  carebridge": it reads the record from carebridge's FHIR API instead.
- Where the partner supports ``batch``, the rows go out in one batch Bundle; each entry is then
  handled like a single write (https://hl7.org/fhir/R4/http.html#transaction). A batch the partner
  does not answer within its read timeout (which grows with the entries, `connectors.http`) is
  not resent at once, while the partner may still be working on it: its rows are retried later
  (``batch:timed-out`` in the tally), in smaller batches (`service.sync.engine`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from connectors.bundles import EntryResponse, create_entry, update_entry
from connectors.errors import Conflict, ConnectorError, NotSupported, TemporaryError
from connectors.fhir_client import FhirClient
from service import clock
from service.db import table_of
from service.models import Delivery, Partner, PartnerLink
from service.sync.capability import PARTNER_READS, accepts_write, refused_type, supports_batch
from service.sync.incoming import link_of, link_values, remote_version, save_link
from service.sync.merge import changed_elements, three_way, with_choices
from service.sync.outgoing import load, load_all, resource_for_partner, resources_for_partner
from service.sync.reconcile import absorb
from service.sync.resource_types import identifier_token
from service.usecases.errors import UseCaseError
from service.usecases.unit_of_work import unit_of_work

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)
Json = dict[str, Any]
_UNSET: Any = object()


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
    first_try: bool = False  # no attempt to send this record to this partner before this one

    @property
    def entry(self) -> Json:
        if self.remote_id is None:
            return create_entry(self.resource, if_none_exist=self.if_none_exist)
        return update_entry({**self.resource, "id": self.remote_id}, if_match=etag(self.remote_version))

    @property
    def if_none_exist(self) -> str | None:
        """The create's condition: none on a first try, carebridge's identifier after that."""
        if self.first_try:
            return None
        return f"identifier={identifier_token(self.resource['resourceType'], self.entity_id)}"


@dataclass(frozen=True)
class Written:
    status: int
    resource: Json | None
    location: str | None


def etag(version: str | None) -> str | None:
    return f'W/"{version}"' if version is not None else None


@dataclass(frozen=True)
class Outcome:
    """How one row's write ended, after any merge or catch-up: what to record for it."""

    item: Prepared
    confirmed: Json | None  # the partner's copy after a confirmed write
    error: ConnectorError | None
    result: str


def deliver(session: Session, partner: Partner, fhir: FhirClient, rows: Sequence[Delivery]) -> Counter[str]:
    """Send the rows `claim` marked in flight (as it returned them, held in ``session`` until the
    outcomes are recorded, so those find them unqueried); how many ended in each state/result
    (e.g. ``done:created``).

    The records are read in one transaction and the outcomes recorded in another, with the
    partner's answers in between: two commits a batch, not two a row, and no transaction is held
    open across a request. Dying before the second commit only means resending, which is harmless.
    """
    tally: Counter[str] = Counter()
    with unit_of_work(session):
        links = _links(session, partner.id, rows)
        finished = _RowChanges()
        prepared = _prepare(session, partner, rows, links, finished, tally)
        finished.write(session)
    sent: list[tuple[Prepared, Written | None, ConnectorError | None]]
    if len(prepared) > 1 and supports_batch(partner.capabilities):
        try:
            answers = fhir.batch([p.entry for p in prepared])
        except TemporaryError as exc:
            if not exc.timed_out:
                raise
            tally["batch:timed-out"] += 1
            sent = [(item, None, exc) for item in prepared]
        else:
            sent = [(item, *_answered(answer)) for item, answer in zip(prepared, answers, strict=True)]
    else:
        sent = [(item, *_write_one(fhir, item)) for item in prepared]
    outcomes = [_conclude(session, partner, fhir, *one) for one in sent]
    with unit_of_work(session):
        settled = _RowChanges()
        for outcome in outcomes:
            _settle(session, partner, outcome, links.get(outcome.item.entity_id), settled, tally)
        settled.write(session)
    return tally


def _answered(answer: EntryResponse) -> tuple[Written | None, ConnectorError | None]:
    error = answer.error()
    return (Written(answer.status, answer.resource, answer.location) if error is None else None), error


def _write_one(fhir: FhirClient, item: Prepared) -> tuple[Written | None, ConnectorError | None]:
    try:
        if item.remote_id is None:
            result = fhir.create(item.resource, if_none_exist=item.if_none_exist)
        else:
            result = fhir.update({**item.resource, "id": item.remote_id}, if_match=etag(item.remote_version))
    except ConnectorError as exc:
        return None, exc
    return Written(result.status, result.resource, result.location), None


def _links(session: Session, partner_id: str, rows: Sequence[Delivery]) -> dict[str, PartnerLink]:
    """The partner's links of the rows' records, by record id (ids are unique across types)."""
    keys = [(row.entity_type, row.entity_id) for row in rows]
    if not keys:
        return {}
    found = session.scalars(
        select(PartnerLink).where(
            PartnerLink.partner_id == partner_id, tuple_(PartnerLink.entity_type, PartnerLink.entity_id).in_(keys)
        )
    )
    return {link.entity_id: link for link in found}


def _prepare(
    session: Session,
    partner: Partner,
    rows: Sequence[Delivery],
    links: Mapping[str, PartnerLink],
    changes: _RowChanges,
    tally: Counter[str],
) -> list[Prepared]:
    """Each in-flight row's write, from its record as it is now; rows with nothing to send are done."""
    records = {
        (entity_type, record.id): record
        for entity_type in {row.entity_type for row in rows}
        for record in load_all(session, entity_type, [row.entity_id for row in rows if row.entity_type == entity_type])
    }
    sending: list[tuple[Delivery, Any]] = []
    for row in rows:
        record = records.get((row.entity_type, row.entity_id))
        if record is None:
            _finish(row, changes, tally, "done", "gone")
            continue
        link = links.get(row.entity_id)
        version = getattr(record, "version", None)
        if link is not None and version is not None and (link.synced_version or 0) >= version:
            _finish(row, changes, tally, "done", "superseded")  # the partner already has this version
            continue
        if not accepts_write(partner.capabilities, row.resource_type, create=link is None):
            _finish(row, changes, tally, "done", PARTNER_READS)
            continue
        sending.append((row, record))
    bodies: dict[int, Json] = {}
    for entity_type in {row.entity_type for row, _ in sending}:
        of_type = [(row, record) for row, record in sending if row.entity_type == entity_type]
        rendered = resources_for_partner(session, partner, entity_type, [record for _, record in of_type])
        bodies.update((row.id, body) for (row, _), body in zip(of_type, rendered, strict=True))
    tried = _tried_before(session, partner.id, [row for row, _ in sending if row.entity_id not in links])
    prepared = []
    for row, record in sending:
        link = links.get(row.entity_id)
        prepared.append(
            Prepared(
                delivery_id=row.id,
                entity_id=row.entity_id,
                version=getattr(record, "version", None),
                resource=bodies[row.id],
                remote_id=link.remote_id if link else None,
                remote_version=link.remote_version if link else None,
                base=link.remote_json if link else None,
                first_try=link is None and row.attempts == 1 and row.entity_id not in tried,
            )
        )
    return prepared


def _tried_before(session: Session, partner_id: str, rows: Sequence[Delivery]) -> set[str]:
    """Records of ``rows`` another of the partner's deliveries already claimed for sending (it may
    have created them there, whatever became of that row since)."""
    if not rows:
        return set()
    return set(
        session.scalars(
            select(Delivery.entity_id).where(
                Delivery.partner_id == partner_id,
                Delivery.entity_type.in_({row.entity_type for row in rows}),
                Delivery.entity_id.in_([row.entity_id for row in rows]),
                Delivery.id.not_in([row.id for row in rows]),
                Delivery.attempts > 0,
            )
        )
    )


class _RowChanges:
    """New values for a batch's rows and links, written together in the transaction that makes
    them (`write`): one UPDATE for all rows given the same values (most of a batch ends alike, e.g.
    ``done:updated``), not the ORM's flush of one UPDATE per row, which cost a batch more CPU and
    database work than its claim; and the links the partner confirmed, in one executemany by
    primary key, not the flush's bookkeeping of each changed link (47 -> 32 ms of CPU per 500).
    The rows and links in the session take the values at once."""

    def __init__(self) -> None:
        self.now = clock.now()  # the rows' updated_at
        self._groups: dict[bytes, tuple[Json, list[int]]] = {}
        self._links: list[Json] = []

    def confirm(self, link: PartnerLink, resource: Json, synced_version: int | None) -> None:
        """What `save_link` records for an existing link: the partner's confirmed copy."""
        values = link_values(resource, self.now)
        if synced_version is not None:
            values["synced_version"] = synced_version
        for key, value in values.items():
            set_committed_value(link, key, value)
        self._links.append({"link_id": link.id, **values})

    def set(self, row: Delivery, **values: Any) -> None:
        # Only the values that differ, as the ORM would write them (a None stays SQL NULL, not JSON null).
        changed = {key: value for key, value in values.items() if getattr(row, key) != value}
        for key, value in changed.items():
            set_committed_value(row, key, value)  # what `write` makes true; a rollback expires it
        if changed:
            alike = orjson.dumps(changed, option=orjson.OPT_SORT_KEYS)
            self._groups.setdefault(alike, (changed, []))[1].append(row.id)

    def write(self, session: Session) -> None:
        for values, ids in self._groups.values():
            query = update(Delivery).where(Delivery.id.in_(ids)).values(values)
            session.execute(query.execution_options(synchronize_session=False))
        self._groups.clear()
        # Grouped by the keys given (synced_version is not), as executemany takes one statement.
        by_keys: dict[tuple[str, ...], list[Json]] = {}
        for values in self._links:
            by_keys.setdefault(tuple(values), []).append(values)
        table = table_of(PartnerLink)
        for keys, links in by_keys.items():
            query = update(table).where(table.c.id == bindparam("link_id"))
            session.execute(query.values({key: bindparam(key) for key in keys[1:]}), links)
        self._links.clear()


def _finish(
    row: Delivery, changes: _RowChanges, tally: Counter[str], state: str, result: str | None, **fields: Any
) -> None:
    changes.set(row, state=state, result=result, lease_until=None, updated_at=changes.now, **fields)
    tally[f"{state}:{result}" if result else state] += 1


def _conclude(
    session: Session, partner: Partner, fhir: FhirClient, item: Prepared, written: Written | None,
    error: ConnectorError | None,
) -> Outcome:  # fmt: skip
    """The partner's answer followed through: a merge after 409/412, a catch-up after an
    If-None-Exist match, and the confirmed copy (read when the answer had no body)."""
    if isinstance(error, Conflict):
        written, error, result, item = _merge(session, partner, fhir, item, error)
    else:
        result = "created" if written is not None and written.status == 201 else "updated"
    if written is not None and item.remote_id is None and written.status != 201:
        # If-None-Exist matched: an earlier attempt created it; bring it up to our version.
        written, error, result = _catch_up(fhir, item, written)
    confirmed = None
    if written is not None:
        try:
            confirmed = _confirmed(fhir, item, written)
        except ConnectorError as exc:  # written, but unread: resending is harmless
            error = exc
    return Outcome(item, confirmed, error, result)


def _settle(
    session: Session,
    partner: Partner,
    outcome: Outcome,
    link: PartnerLink | None,
    changes: _RowChanges,
    tally: Counter[str],
) -> None:
    item, error = outcome.item, outcome.error
    row = session.get_one(Delivery, item.delivery_id)
    if refused_type(error):
        partner.capabilities_read_at = None  # stale: the push round reads the statement again
    if outcome.confirmed is not None:
        if link is None:
            save_link(session, partner.id, item.entity_id, outcome.confirmed, synced_version=item.version)
        else:
            changes.confirm(link, outcome.confirmed, item.version)
        _finish(row, changes, tally, "done", outcome.result, error=None, outcome=None)
    elif isinstance(error, NotSupported):
        _finish(row, changes, tally, "done", PARTNER_READS, outcome=error.outcome)
    elif isinstance(error, BothChanged):
        _finish(
            row, changes, tally, "conflict", None, error=str(error), base=error.base, ours=item.resource,
            theirs=error.outcome, resolutions=None,
        )  # fmt: skip
    elif isinstance(error, TemporaryError | Conflict) and row.attempts < MAX_ATTEMPTS:
        _retry_later(row, changes, tally, error)
    else:
        assert error is not None
        _finish(row, changes, tally, "dead", type(error).__name__, error=str(error), outcome=error.outcome)


def _retry_later(row: Delivery, changes: _RowChanges, tally: Counter[str], error: ConnectorError) -> None:
    hint = error.retry_after if isinstance(error, TemporaryError) else None
    delay = timedelta(seconds=hint) if hint is not None else min(MAX_BACKOFF, timedelta(seconds=2**row.attempts))
    due = changes.now + delay
    changes.set(row, state="pending", lease_until=None, error=str(error), due_at=due, updated_at=due)
    tally["pending:retry"] += 1


class BothChanged(Conflict):
    """Both sides changed the same elements; ``outcome`` holds the partner's version, ``base`` the
    version both started from."""

    def __init__(
        self, message: str, *, status: int | None, outcome: Mapping[str, Any] | None, base: Json | None = None
    ) -> None:
        super().__init__(message, status=status, outcome=outcome)
        self.base = base


def _merge(
    session: Session, partner: Partner, fhir: FhirClient, item: Prepared, error: Conflict
) -> tuple[Written | None, ConnectorError | None, str, Prepared]:
    """After a 409/412: merge three ways with the partner's current version (`service.sync.merge`).

    Clean: carebridge's record takes the merge and the partner's version becomes the base, in one
    transaction, then the record is rendered again and written with If-Match on that version, so
    the partner keeps its edits now and on every later push. Overlapping: a conflict for a person.
    The returned Prepared is what was written (its version is the record's after the merge).
    """
    if item.remote_id is None:  # a conditional create matched several resources: a person decides
        return None, BothChanged(str(error), status=error.status, outcome=error.outcome), "conflict", item
    try:
        theirs = fhir.read(item.resource["resourceType"], item.remote_id)
    except ConnectorError as exc:
        return None, exc, "retry", item
    result = three_way(item.base or {}, item.resource, theirs)
    if not result.clean:
        message = f"both sides changed {', '.join(result.conflicting)}"
        return None, BothChanged(message, status=409, outcome=theirs, base=item.base), "conflict", item
    with unit_of_work(session):
        row = session.get_one(Delivery, item.delivery_id)
        link = link_of(session, partner.id, row.entity_type, row.entity_id)
        record = load(session, row.entity_type, row.entity_id)
        if link is None or record is None:
            return None, error, "retry", item
        save_link(session, partner.id, record.id, theirs, link=link)  # committed with `absorb`
        try:
            absorb(session, partner, row.entity_type, row.entity_id, result.merged, actor=f"partner:{partner.name}")
        except UseCaseError as exc:  # e.g. a Task move the state machine refuses: a person decides
            message = f"carebridge cannot take the merge: {exc}"
            return None, BothChanged(message, status=409, outcome=theirs, base=item.base), "conflict", item
        body = resource_for_partner(session, partner, row.entity_type, record)
        version = getattr(record, "version", None)
        item = replace(item, resource=body, version=version, remote_version=remote_version(theirs))
    try:
        written = fhir.update({**body, "id": item.remote_id}, if_match=etag(item.remote_version))
    except ConnectorError as exc:  # moved again meanwhile: the row is retried from the start
        return None, exc, "retry", item
    return Written(written.status, written.resource, written.location), None, "merged", item


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


def resolve_conflict(
    session: Session, delivery_id: int, *, take: str | None = None, element: str | None = None, value: Any = _UNSET
) -> Delivery:
    """A person settles a conflict, one element (``element``) or all those not settled yet: ``take``
    ``ours`` or ``theirs``, or a ``value`` of their own (``None`` removes the element).

    Once every conflicting element has a value, the merge (both sides' other changes included) is
    written to carebridge's record, the partner's version becomes the merge base and the row is
    queued again, so the next push writes the result to the partner with If-Match on its version.
    Until then the row stays in conflict and remembers the values chosen so far.
    """
    if (take is None) == (value is _UNSET) or take not in (None, "ours", "theirs"):
        raise ValueError("take 'ours' or 'theirs', or give a value")
    with unit_of_work(session):
        row = session.get_one(Delivery, delivery_id)
        if row.state != "conflict":
            raise ValueError(f"delivery {delivery_id} is {row.state}, not in conflict")
        base, ours, theirs = row.base or {}, row.ours or {}, row.theirs or {}
        result = three_way(base, ours, theirs)
        if element is not None and element not in result.conflicting:
            raise ValueError(f"{element} is not in conflict; conflicting: {', '.join(result.conflicting)}")
        chosen = dict(row.resolutions or {})
        for name in [element] if element is not None else [e for e in result.conflicting if e not in chosen]:
            side = ours if take == "ours" else theirs
            chosen[name] = side.get(name) if value is _UNSET else value
        row.resolutions, row.updated_at = chosen, clock.now()
        if set(result.conflicting) - set(chosen):
            return row
        merged = with_choices(result, chosen)
        partner = session.get_one(Partner, row.partner_id)
        link = link_of(session, row.partner_id, row.entity_type, row.entity_id)
        row.state, row.due_at, row.attempts, row.result, row.error = "pending", clock.now(), 0, None, None
        if link is not None:
            save_link(session, partner.id, row.entity_id, theirs, link=link)  # the partner's version: the base
            absorb(session, partner, row.entity_type, row.entity_id, merged, actor=f"resolve:{partner.name}")
        return row
