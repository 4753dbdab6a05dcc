from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from connectors.keys import generate_signing_key, public_jwk
from service.models.web import EhrRegistration
from service.usecases.ehr_registrations import DEFAULT_SCOPE, register_ehr
from service.usecases.errors import Invalid
from tests.factories import Case

ISS = "http://127.0.0.1:1/fhir/R4"


def test_registering_again_replaces_the_client_and_key(session: Session, case: Case) -> None:
    fields = {"redirect_uri": "http://127.0.0.1:5000/app/launch/callback", "hospital_id": case.hospital.id}
    register_ehr(session, iss=ISS + "/", client_id="one", private_jwk=generate_signing_key("RS384"), **fields)
    key = generate_signing_key("ES384")
    register_ehr(session, iss=ISS, client_id="two", private_jwk=key, **fields)
    stored = session.get(EhrRegistration, ISS)
    assert stored is not None
    assert (stored.client_id, stored.private_jwk, stored.scope) == ("two", key, DEFAULT_SCOPE)


def test_only_a_hospital_with_a_private_signing_key(session: Session, case: Case) -> None:
    key = generate_signing_key("RS384")
    base = {"iss": ISS, "client_id": "c", "redirect_uri": "http://x/cb"}
    with pytest.raises(Invalid, match="for a hospital"):
        register_ehr(session, **base, private_jwk=key, hospital_id=case.snfs[0].id)
    with pytest.raises(Invalid, match="cannot sign"):
        register_ehr(session, **base, private_jwk=public_jwk(key), hospital_id=case.hospital.id)
    assert session.get(EhrRegistration, ISS) is None
