"""EHR launch against the real peer EHR: authorization code + PKCE, then the launched patient's case."""

from __future__ import annotations

import base64
import json
import re

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from connectors.http import Transport
from service.cli import main
from service.models import Organization, Stay
from service.models.web import EhrRegistration
from service.usecases.ehr_import import ehr_patient_system
from service.usecases.ehr_registrations import DEFAULT_SCOPE
from tests.browser.live_server import LiveApp, live_app  # noqa: F401  (fixture)
from tests.peers import PeerSite

pytestmark = pytest.mark.integration


def _ehr_records(ehr_site: PeerSite) -> tuple[str, str]:
    """A patient in hospital at the EHR: (Patient id, Encounter id)."""
    backend = ehr_site.register_backend_client("system/Patient.cruds system/Encounter.cruds")
    with Transport() as http, backend.connect(http) as fhir:
        patient = fhir.create(
            {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5.99", "value": "EHR-77"}],
                "name": [{"family": "Launchley", "given": ["Lena"]}],
                "gender": "female",
                "birthDate": "1941-06-02",
            }
        ).resource
        encounter = fhir.create(
            {
                "resourceType": "Encounter",
                "status": "in-progress",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                "subject": {"reference": f"Patient/{patient['id']}"},
                "period": {"start": "2026-11-20T08:00:00Z"},
                "location": [
                    {
                        "location": {"display": "5 East"},
                        "physicalType": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
                                    "code": "wa",
                                }
                            ]
                        },
                    }
                ],
            }
        ).resource
    return patient["id"], encounter["id"]


def _register_carebridge(ehr_site: PeerSite, live: LiveApp) -> None:
    """The operator's step: ``carebridge web register-ehr`` registers at the EHR (open dynamic registration)."""
    with live.session() as db:
        hospital_id = db.scalars(select(Organization.id).where(Organization.kind == "hospital")).one()
    result = CliRunner().invoke(
        main,
        ["web", "register-ehr", ehr_site.fhir_base, "--hospital-id", hospital_id]
        + ["--redirect-uri", f"{live.url}/app/launch/callback"],
        env={"DATABASE_URL": live.settings.database_url},
    )
    assert result.exit_code == 0, result.output
    with live.session() as db:
        registration = db.get(EhrRegistration, ehr_site.fhir_base)
        assert registration is not None and registration.scope == DEFAULT_SCOPE


def _launch(live: LiveApp, ehr_site: PeerSite, patient_id: str, encounter_id: str) -> requests.Response:
    context = json.dumps({"patient": patient_id, "encounter": encounter_id}).encode()
    launch = base64.urlsafe_b64encode(context).rstrip(b"=").decode()
    browser = requests.Session()
    response = browser.get(f"{live.url}/app/launch", params={"iss": ehr_site.fhir_base, "launch": launch}, timeout=30)
    browser.close()
    return response


def test_an_ehr_launch_lands_on_the_launched_patients_case(ehr_site: PeerSite, live_app: LiveApp) -> None:  # noqa: F811
    patient_id, encounter_id = _ehr_records(ehr_site)
    _register_carebridge(ehr_site, live_app)

    response = _launch(live_app, ehr_site, patient_id, encounter_id)

    assert response.status_code == 200, response.text[-2000:]
    assert [r.status_code for r in response.history][0] == 302  # carebridge -> the EHR's authorization server
    landed = re.fullmatch(rf"{re.escape(live_app.url)}/app/stays/([0-9a-f-]+)", response.url)
    assert landed, response.url
    assert "<h1>Launchley, Lena</h1>" in response.text
    assert "5 East" in response.text
    with live_app.session() as db:
        stay = db.get(Stay, landed.group(1))
        assert stay is not None
        assert (stay.source_system, stay.source_id) == (ehr_site.fhir_base, encounter_id)
        systems = {i.system for i in stay.patient.identifiers}
        assert ehr_patient_system(ehr_site.fhir_base) in systems
        assert "urn:oid:2.16.840.1.113883.19.5.99" in systems

    again = _launch(live_app, ehr_site, patient_id, encounter_id)
    assert again.url == response.url  # the second launch finds the same stay, nothing is copied twice


def test_an_unregistered_ehr_is_refused_plainly(live_app: LiveApp) -> None:  # noqa: F811
    response = requests.get(f"{live_app.url}/app/launch", params={"iss": "http://127.0.0.1:9/fhir"}, timeout=10)
    assert response.status_code == 422
    assert "not registered with this EHR" in response.text


def test_a_callback_without_a_launch_in_progress_is_refused(live_app: LiveApp) -> None:  # noqa: F811
    response = requests.get(f"{live_app.url}/app/launch/callback", params={"code": "x", "state": "y"}, timeout=10)
    assert response.status_code == 409
    assert "launch again" in response.text
