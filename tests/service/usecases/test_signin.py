from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from service import clock
from service.usecases import signin
from service.usecases.errors import Invalid
from tests.factories import Case


def test_authenticate_checks_the_werkzeug_hash(session: Session, case: Case) -> None:
    case.planner.password_hash = generate_password_hash("demo", method="pbkdf2:sha256:1000")
    session.commit()
    assert signin.authenticate(session, case.planner.username, "demo") is case.planner
    for username, password in ((case.planner.username, "Demo"), ("ghost", "demo")):
        with pytest.raises(Invalid, match="unknown username or wrong password"):
            signin.authenticate(session, username, password)


def test_a_user_without_a_password_cannot_sign_in(session: Session, case: Case) -> None:
    with pytest.raises(Invalid):
        signin.authenticate(session, case.planner.username, "")


def test_sessions_expire_and_sign_in_replaces_the_anonymous_one(session: Session, case: Case, now: datetime) -> None:
    anonymous = signin.open_session(session)
    assert anonymous.user_id is None and signin.find_session(session, anonymous.id) is anonymous
    signed = signin.sign_in(session, anonymous, case.planner)
    assert signed.id != anonymous.id and signed.csrf_token != anonymous.csrf_token
    assert signin.find_session(session, anonymous.id) is None
    with clock.frozen_at(now + signin.SESSION_LIFETIME + timedelta(seconds=1)):
        assert signin.find_session(session, signed.id) is None


def test_a_disabled_users_session_signs_nobody_in(session: Session, case: Case) -> None:
    web = signin.sign_in(session, None, case.planner)
    assert signin.signed_in(session, web.id) == (web, case.planner)
    case.planner.active = False
    session.commit()
    assert signin.signed_in(session, web.id) == (web, None)


def test_csrf_token_must_match_the_session(session: Session, case: Case) -> None:
    web = signin.sign_in(session, None, case.planner)
    assert signin.csrf_ok(web, web.csrf_token)
    assert not signin.csrf_ok(web, "") and not signin.csrf_ok(web, None) and not signin.csrf_ok(None, "x")


def test_ehr_users_are_created_once_per_ehr_and_fhir_user(session: Session, case: Case) -> None:
    iss = "http://127.0.0.1:1/fhir/R4"
    first = signin.ehr_user(session, hospital_id=case.hospital.id, iss=iss, fhir_user="Practitioner/p1")
    again = signin.ehr_user(session, hospital_id=case.hospital.id, iss=iss, fhir_user="Practitioner/p1")
    other = signin.ehr_user(session, hospital_id=case.hospital.id, iss=iss + "x", fhir_user="Practitioner/p1")
    assert first.id == again.id != other.id
    assert first.display_name == "p1 (EHR)" and first.password_hash is None
