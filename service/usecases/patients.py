"""Patients and their business identifiers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Organization, Patient, PatientIdentifier
from service.usecases.changes import apply_changes, create
from service.usecases.errors import ConflictError, Invalid
from service.usecases.unit_of_work import get_or_404, unit_of_work


def find_by_identifier(session: Session, system: str, value: str) -> Patient | None:
    return session.scalar(
        select(Patient)
        .join(PatientIdentifier)
        .where(PatientIdentifier.system == system, PatientIdentifier.value == value)
    )


def _check_identifiers(session: Session, identifiers: Sequence[Mapping[str, str]], patient_id: str | None) -> None:
    for ident in identifiers:
        owner = find_by_identifier(session, ident["system"], ident["value"])
        if owner is not None and owner.id != patient_id:
            raise ConflictError(
                f"identifier {ident['system']}|{ident['value']} already belongs to patient {owner.id}",
                details={"patient": owner.id},
            )


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
        for org_id in (payer_id, primary_care_id):
            if org_id is not None:
                get_or_404(session, Organization, org_id)
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


def update_patient(session: Session, patient_id: str, changes: Mapping[str, Any], *, actor: str) -> Patient:
    with unit_of_work(session):
        patient = get_or_404(session, Patient, patient_id)
        unknown = set(changes) - {"family_name", "given_name", "birth_date", "gender", "payer_id", "primary_care_id"}
        if unknown:
            raise Invalid("these fields cannot be changed", fields={k: ["not editable"] for k in sorted(unknown)})
        return apply_changes(session, patient, changes, actor=actor)


def list_patients(session: Session, *, limit: int, offset: int) -> list[Patient]:
    return list(session.scalars(select(Patient).order_by(Patient.family_name, Patient.id).limit(limit).offset(offset)))
