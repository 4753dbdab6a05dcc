"""The access audit of the REST API and the web app, and of every refusal on every door.

- REST views and web pages note what they disclose or change (`note_access`); the events are
  written once the response's status is known, so a refused or failed write is recorded as such
  (outcome 4/8) just like the FHIR API's own events (service.auth.audit).
- Every 401 and 403 under /api, /app and /fhir is recorded with the client (the principal, or
  the client id a refused token claims), the request (method and path, never the query string:
  it may hold names or identifiers) and the reason, unless the view already recorded a failed
  access (`service.auth.audit.record_access` marks the request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request

from service.auth.audit import OUTCOME_MINOR, Action, outcome_for_status, record_accesses_now
from service.auth.context import AccessContext
from service.auth.jwts import InvalidJwt, unverified_claims
from service.auth.policy import REST_TYPES
from service.auth.scopes import parse_scopes

DOORS = ("/api/", "/app/", "/fhir/")
_ACTION_OF_METHOD: dict[str, Action] = {"POST": "C", "PUT": "U", "PATCH": "U", "DELETE": "D"}
_INTERACTION_OF_METHOD = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}


@dataclass(frozen=True)
class _Noted:
    ctx: AccessContext
    action: Action
    interaction: str
    resource_type: str
    resource_id: str | None
    patient_ids: tuple[str | None, ...]


def note_access(
    ctx: AccessContext,
    action: Action,
    interaction: str,
    resource_type: str,
    *,
    resource_id: str | None = None,
    patient_ids: tuple[str | None, ...] = (None,),
) -> None:
    """Remember that this request reads or changes `resource_type` records of `patient_ids` (one
    event per patient, so each patient's accounting of disclosures finds it)."""
    g.setdefault("noted_accesses", []).append(
        _Noted(ctx, action, interaction, resource_type, resource_id, patient_ids or (None,))
    )


def init_app(app: Flask, session_of_request: Any) -> None:
    @app.after_request
    def _write_access_events(response: Response) -> Response:
        noted: list[_Noted] = g.pop("noted_accesses", [])
        refusal = (response.status_code in (401, 403) or g.get("refused")) and request.path.startswith(DOORS)
        if not noted and not (refusal and not g.get("refusal_recorded")):
            return response
        session = session_of_request()
        reason = _reason(response) if response.status_code >= 400 or refusal else None
        outcome = outcome_for_status(response.status_code)
        for event in noted:
            record_accesses_now(
                session, event.ctx, list(event.patient_ids), action=event.action, interaction=event.interaction,
                outcome=outcome, resource_type=event.resource_type, resource_id=event.resource_id, description=reason,
            )  # fmt: skip
        if refusal and not noted and not g.get("refusal_recorded"):
            record_accesses_now(
                session, _refused_principal(), [None], action=_ACTION_OF_METHOD.get(request.method, "R"),
                interaction=_INTERACTION_OF_METHOD.get(request.method, "read"), outcome=OUTCOME_MINOR,
                resource_type=_resource_type_of(request.path), query=f"{request.method} {request.path}",
                description=f"{response.status_code}: {reason}",
            )  # fmt: skip
        return response


def _resource_type_of(path: str) -> str | None:
    """The SMART type a REST or FHIR path is about (`/api/stays/…` -> Encounter), for the auditor."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) > 1 and parts[1] in REST_TYPES:
        return REST_TYPES[parts[1]][0]
    if parts[:2] == ["fhir", "R4"] and len(parts) > 2 and parts[2][:1].isupper():
        return parts[2][:40]
    return None


def _refused_principal() -> AccessContext:
    known: AccessContext | None = g.get("fhir_access")
    if known is not None:
        return known
    claimed = "anonymous"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            claims = unverified_claims(token.strip())
            claimed = f"unverified:{claims.get('client_id') or claims.get('sub') or 'unknown'}"
        except InvalidJwt:
            claimed = "unverified:unreadable-token"
    return AccessContext(claimed[:120], claimed[:200], None, parse_scopes(""), None)


def _reason(response: Response) -> str:
    explained: str | None = g.get("refusal_reason")
    if explained:
        return explained
    body = response.get_json(silent=True, force=True) if "json" in (response.mimetype or "") else None
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):  # the REST error envelope
            return str(body["message"])
        issues = body.get("issue")
        if isinstance(issues, list) and issues and isinstance(issues[0], dict):
            return str(issues[0].get("diagnostics", "refused"))
    return f"HTTP {response.status_code}"


def refused(reason: str) -> None:
    """This request is refused (also when the answer is not a 401 or 403, like the web app's
    redirect to its sign-in page), and why: for the audit (pages whose body is HTML say nothing)."""
    g.refused, g.refusal_reason = True, reason
