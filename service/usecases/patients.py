"""Patients and their business identifiers."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from service.auth import policy
from service.auth.context import AccessContext
from service.db import table_of
from service.models import Organization, Patient, PatientIdentifier
from service.usecases.changes import apply_changes, create, create_all
from service.usecases.errors import ConflictError, Invalid
from service.usecases.unit_of_work import get_or_404, unit_of_work


def find_by_identifier(session: Session, system: str, value: str) -> Patient | None:
    return session.scalar(
        select(Patient)
        .join(PatientIdentifier)
        .where(PatientIdentifier.system == system, PatientIdentifier.value == value)
    )


def _check_identifiers(
    session: Session,
    identifiers: Sequence[Mapping[str, str]],
    patient_id: str | None,
    owners: Mapping[tuple[str, str], str] | None = None,
) -> None:
    """Refuse identifiers another patient has (`owners_of`, unless the caller just looked them up),
    or that `identifiers` gives twice."""
    if owners is None:
        owners = owners_of(session, identifiers)
    for ident in identifiers:
        owner = owners.get((ident["system"], ident["value"]))
        if owner is not None and owner != patient_id:
            raise ConflictError(
                f"identifier {ident['system']}|{ident['value']} already belongs to patient {owner}",
                details={"patient": owner},
            )
    twice = [key for key, n in Counter((i["system"], i["value"]) for i in identifiers).items() if n > 1]
    if twice:
        raise ConflictError(f"identifier {twice[0][0]}|{twice[0][1]} is given twice")


def register_patient(
    session: Session,
    *,
    family_name: str,
    given_name: str,
    actor: str,
    birth_date: date | None = None,
    gender: str | None = None,
    identifiers: Sequence[Mapping[str, str]] = (),
    payer_id: str | None = None,
    primary_care_id: str | None = None,
) -> Patient:
    with unit_of_work(session):
        # An unknown payer_id or primary_care_id is refused by its foreign key: 422 naming it.
        _check_identifiers(session, identifiers, None)
        patient = Patient(
            family_name=family_name,
            given_name=given_name,
            birth_date=birth_date,
            gender=gender,
            payer_id=payer_id,
            primary_care_id=primary_care_id,
            identifiers=[
                PatientIdentifier(kind=i.get("kind", "partner"), system=i["system"], value=i["value"])
                for i in identifiers
            ],
        )
        return create(session, patient, actor=actor)


def owners_of(session: Session, identifiers: Sequence[Mapping[str, str]]) -> dict[tuple[str, str], str]:
    """(system, value) -> patient id, for those of `identifiers` that some patient already has.
    One `system = ? AND value IN (...)` per system, so each is answered by the (system, value)
    unique index: a page holds a few systems (the partner's MRN, its resource ids)."""
    by_system: dict[str, set[str]] = defaultdict(set)
    for i in identifiers:
        by_system[i["system"]].add(i["value"])
    if not by_system:
        return {}
    query = select(PatientIdentifier.system, PatientIdentifier.value, PatientIdentifier.patient_id).where(
        or_(*(and_(PatientIdentifier.system == s, PatientIdentifier.value.in_(v)) for s, v in by_system.items()))
    )
    return {(system, value): pid for system, value, pid in session.execute(query)}


def register_patients(
    session: Session,
    records: Sequence[Mapping[str, Any]],
    *,
    actor: str,
    owners: Mapping[tuple[str, str], str] | None = None,
) -> list[str]:
    """`register_patient` for many patients at once (a pulled roster page), all or none: each
    record holds `register_patient`'s keyword arguments. Returns the new ids, in order. A caller
    that has just looked the identifiers up in this transaction (`owners_of`, as the pull does to
    set the taken ones aside) passes what it found instead of having them looked up again."""
    with unit_of_work(session):
        for org_id in sorted({str(r[k]) for r in records for k in ("payer_id", "primary_care_id") if r.get(k)}):
            get_or_404(session, Organization, org_id)
        _check_identifiers(session, [i for r in records for i in r.get("identifiers", ())], None, owners)
        rows = create_all(
            session, Patient, [{k: v for k, v in r.items() if k != "identifiers"} for r in records], actor=actor
        )
        identifier_rows = [
            {"patient_id": row["id"], "kind": i.get("kind", "partner"), "system": i["system"], "value": i["value"]}
            for row, record in zip(rows, records, strict=True)
            for i in record.get("identifiers", ())
        ]
        if identifier_rows:
            session.execute(insert(table_of(PatientIdentifier)), identifier_rows)
        return [row["id"] for row in rows]


def update_patient(session: Session, patient_id: str, changes: Mapping[str, Any], *, actor: str) -> Patient:
    with unit_of_work(session):
        patient = get_or_404(session, Patient, patient_id)
        unknown = set(changes) - {"family_name", "given_name", "birth_date", "gender", "payer_id", "primary_care_id"}
        if unknown:
            raise Invalid("these fields cannot be changed", fields={k: ["not editable"] for k in sorted(unknown)})
        return apply_changes(session, patient, changes, actor=actor)


def list_patients(session: Session, *, ctx: AccessContext, limit: int, offset: int) -> list[Patient]:
    """The patients `ctx` may see (service.auth.policy), by name."""
    query = select(Patient).where(policy.visible_patients(ctx)).order_by(Patient.family_name, Patient.id)
    return list(session.scalars(query.limit(limit).offset(offset)))
