"""One transaction per use case: nested use cases commit together, and no door stores a value
longer than its column."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from service.models import Patient, Stay
from service.usecases import patients, stays
from service.usecases.errors import Invalid
from service.usecases.unit_of_work import unit_of_work
from tests.factories import Case


def test_a_use_case_made_of_use_cases_commits_or_refuses_as_one(session: Session, case: Case, now: datetime) -> None:
    with pytest.raises(Invalid), unit_of_work(session):
        patient = patients.register_patient(
            session, family_name="Okafor", given_name="Ada", actor="p"
        )
        new_id = patient.id
        stays.admit(session, patient_id=new_id, hospital_id=case.snfs[0].id, admitted_at=now, actor="p")
    session.expire_all()
    assert session.get(Patient, new_id) is None  # the registration went with the refused stay


def test_a_value_longer_than_its_column_is_refused_naming_the_field(session: Session, case: Case) -> None:
    with pytest.raises(Invalid) as refused:
        stays.update_stay(session, case.stay.id, {"unit": "W" * 41}, actor="p")
    assert refused.value.details["fields"] == {"unit": ["at most 40 characters, got 41"]}
    session.expire_all()
    assert session.get_one(Stay, case.stay.id).unit != "W" * 41
    assert stays.update_stay(session, case.stay.id, {"unit": "W" * 40}, actor="p").unit == "W" * 40
