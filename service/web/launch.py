"""SMART App Launch from an EHR: ``/app/launch?iss=...&launch=...`` -> EHR sign-in -> the patient's case.

Authorization code with PKCE S256 through the connectors' EHR-launch client, endpoints discovered
from ``{iss}/.well-known/smart-configuration``. A patient carebridge has not seen is read from the
EHR with the user's own token and created first. Tokens stay in the server-side session.
https://hl7.org/fhir/smart-app-launch/app-launch.html
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import g, redirect, request, url_for
from werkzeug.wrappers import Response

from connectors.errors import ConnectorError
from connectors.fhir_client import FhirClient
from connectors.http import Transport
from connectors.smart_auth import discover
from connectors.smart_launch import LaunchSettings, LaunchToken, exchange_code, start_authorization
from service.app import request_session, writes_on_get
from service.auth.policy import principal_for_user
from service.models.web import EhrRegistration
from service.usecases import signin as accounts
from service.usecases.ehr_import import import_stay
from service.usecases.errors import ConflictError, Forbidden, Invalid
from service.web.blueprint import blueprint
from service.web.session import keep_in_session, start_session


class UserToken:
    """The launching user's access token as a connectors TokenSource (no silent re-authentication)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def invalidate(self, token: str) -> None:
        """Nothing to refresh here: the user launches again."""


def _registration(iss: str) -> EhrRegistration:
    registration = request_session().get(EhrRegistration, iss.rstrip("/"))
    if registration is None:
        raise Invalid("carebridge is not registered with this EHR", fields={"iss": [iss or "(missing)"]})
    return registration


def _settings(registration: EhrRegistration, http: Transport) -> LaunchSettings:
    return LaunchSettings(
        client_id=registration.client_id,
        private_jwk=registration.private_jwk,
        redirect_uri=registration.redirect_uri,
        scope=registration.scope,
        fhir_base=registration.iss,
        smart=discover(http, registration.iss),
    )


@blueprint.get("/launch")
@writes_on_get
def launch() -> Response:
    registration = _registration(request.args.get("iss", ""))
    with Transport() as http:
        try:
            authorization = start_authorization(_settings(registration, http), launch=request.args.get("launch"))
        except ConnectorError as exc:
            raise ConflictError(f"the EHR's authorization server could not be reached: {exc}") from exc
    pending = {"iss": registration.iss, "state": authorization.state, "code_verifier": authorization.code_verifier}
    # Any site can send a signed-in user here: the launch waits beside their session and replaces
    # it only when the EHR's callback succeeds, so a launch left unfinished signs nobody out.
    keep_in_session(pending_launch=pending)
    return redirect(authorization.url)


@blueprint.get("/launch/callback")
@writes_on_get
def launch_callback() -> Response:
    pending: dict[str, Any] | None = g.web.pending_launch if g.web is not None else None
    if not pending:
        raise ConflictError("this EHR launch has expired or was started in another browser; launch again")
    registration = _registration(pending["iss"])
    db = request_session()
    with Transport() as http:
        try:
            token = exchange_code(
                http,
                _settings(registration, http),
                request.args,
                expected_state=pending["state"],
                code_verifier=pending["code_verifier"],
            )
            patient, encounter = _launch_context(http, registration.iss, token)
        except ConnectorError as exc:
            raise ConflictError(f"the EHR refused the launch: {exc}") from exc
    user = accounts.ehr_user(db, hospital_id=registration.hospital_id, iss=registration.iss, fhir_user=token.fhir_user)
    # The launch matches and creates patients as this user: see ehr_import for the rule.
    try:
        launched_by = principal_for_user(user)
    except PermissionError:
        raise Forbidden("this EHR user's carebridge account is disabled") from None
    stay = import_stay(
        db, registration.iss, patient, encounter, hospital_id=registration.hospital_id, launched_by=launched_by
    )
    start_session(user, ehr_token={"iss": registration.iss, **asdict(token)})
    return redirect(url_for("web.case", stay_id=stay.id), code=303)


def _launch_context(http: Transport, iss: str, token: LaunchToken) -> tuple[dict[str, Any], dict[str, Any]]:
    """The launch's Patient and Encounter, read with the user's token."""
    if not token.patient or not token.encounter:
        raise ConflictError("the EHR launched carebridge without a patient and encounter in context")
    with FhirClient(iss, auth=UserToken(token.access_token), transport=http) as fhir:
        return fhir.read("Patient", token.patient), fhir.read("Encounter", token.encounter)
