"""carebridge's one patient-matching rule (service.usecases.patient_matching), on its own: an
identifier matches only in a trusted system or on a patient the sender may see, one patient, and
the person agrees. Expected outcomes written from the rule in the module docstring and README."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from service.models import Patient
from service.usecases import patients
from service.usecases.patient_matching import match_patient, without_held

MRN = "urn:hospital-a:mrn"
MEMBER = "urn:acme:member"
AGNES = {"family_name": "Anders", "given_name": "Agnes", "birth_date": date(1944, 2, 1)}


def _patient(session: Session, *identifiers: tuple[str, str], family: str = "Anders") -> Patient:
    return patients.register_patient(
        session, family_name=family, given_name="Agnes", birth_date=date(1944, 2, 1), actor="test",
        identifiers=[{"kind": "mrn", "system": s, "value": v} for s, v in identifiers],
    )  # fmt: skip


def ids(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"system": s, "value": v} for s, v in pairs]


def test_a_trusted_system_with_agreeing_demographics_matches(session: Session) -> None:
    agnes = _patient(session, (MRN, "1"))
    found = match_patient(session, ids((MRN, "1")), {**AGNES, "family_name": " anders "}, trusted_systems={MRN})
    assert found.patient is not None and found.patient.id == agnes.id and found.reason is None


def test_an_untrusted_system_never_matches_and_its_value_is_not_copied(session: Session) -> None:
    agnes = _patient(session, (MEMBER, "M-1"))
    found = match_patient(session, ids((MEMBER, "M-1"), (MRN, "9")), AGNES, trusted_systems={MRN})
    assert (found.patient, found.reason) == (None, None)
    assert dict(found.held_elsewhere) == {(MEMBER, "M-1"): agnes.id}
    assert without_held(ids((MEMBER, "M-1"), (MRN, "9")), found) == ids((MRN, "9"))


def test_a_patient_the_sender_may_see_matches_on_any_system(session: Session) -> None:
    agnes = _patient(session, (MEMBER, "M-2"))
    found = match_patient(
        session, ids((MEMBER, "M-2")), AGNES, trusted_systems=set(), sees=lambda patient: patient.id == agnes.id
    )
    assert found.patient is not None and found.patient.id == agnes.id


def test_a_disagreeing_person_is_no_match(session: Session) -> None:
    agnes = _patient(session, (MRN, "3"))
    found = match_patient(session, ids((MRN, "3")), {**AGNES, "birth_date": date(1950, 1, 1)}, trusted_systems={MRN})
    assert (found.patient, found.reason, found.candidate_id) == (None, "birth date differ", agnes.id)


def test_what_one_side_lacks_is_not_a_disagreement(session: Session) -> None:
    agnes = _patient(session, (MRN, "4"))
    found = match_patient(session, ids((MRN, "4")), {"family_name": None}, trusted_systems={MRN})
    assert found.patient is not None and found.patient.id == agnes.id


def test_trusted_identifiers_naming_two_patients_are_no_match(session: Session) -> None:
    _patient(session, (MRN, "5"))
    _patient(session, (MRN, "6"))
    found = match_patient(session, ids((MRN, "5"), (MRN, "6")), AGNES, trusted_systems={MRN})
    assert (found.patient, found.reason) == (None, "its trusted identifiers belong to 2 different patients")
