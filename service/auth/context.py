"""The principal of one request, whatever the door (REST, web, FHIR): which client, acting for
which organisation, with which SMART scopes, for (`patient/` scopes) which patient, and, when a
person is behind it, who.

What a principal may do is decided in one place, `service.auth.policy`. FHIR handlers receive it
from `service.fhir_api.guard.authorize(...)`, or later in the request from `current_access()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g

from service.auth.scopes import ScopeSet

# The client id of carebridge's own web app, for people signed in with a session cookie.
WEB_CLIENT_ID = "carebridge-web"


@dataclass(frozen=True)
class AccessContext:
    client_id: str
    subject: str  # the token's `sub`: the client itself for backend services, else the user's username
    organization_id: str | None  # None: a carebridge-operated client (e.g. the auditor), no tenant limit
    scopes: ScopeSet
    patient_id: str | None  # launch context; required for `patient/` scopes to grant anything
    # A person behind the request (None for backend clients): see policy.principal_for_user.
    user_id: str | None = None
    role: str | None = None  # one of service.models.parties.USER_ROLES
    display_name: str | None = None

    @property
    def actor(self) -> str:
        """Who made a change, as the audit trail and handoff timelines record it: the person's
        username, or the backend client."""
        return self.subject if self.user_id is not None else f"client:{self.client_id}"[:120]


def set_current_access(ctx: AccessContext) -> None:
    g.fhir_access = ctx


def current_access() -> AccessContext:
    """The caller of the current request; raises LookupError when the request was not authorized."""
    ctx: AccessContext | None = g.get("fhir_access")
    if ctx is None:
        raise LookupError("no principal in this request: the door (REST, web or FHIR guard) sets it first")
    return ctx
