"""The verified caller of one FHIR request: which client, acting for which organisation, with
which SMART scopes, and (for `patient/` scopes) which patient.

Part B (subscriptions, bulk export, messaging) and every FHIR handler receive it from
`service.fhir_api.guard.authorize(...)`, or later in the request from `current_access()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g

from service.auth.scopes import Interaction, ScopeSet


@dataclass(frozen=True)
class AccessContext:
    client_id: str
    subject: str  # the token's `sub`: the client itself for backend services, else the user
    organization_id: str | None  # None: a carebridge-operated client (e.g. the auditor), no tenant limit
    scopes: ScopeSet
    patient_id: str | None  # launch context; required for `patient/` scopes to grant anything

    def allows(self, resource_type: str, interaction: Interaction) -> bool:
        """True when some scope grants `interaction` on `resource_type`.

        A `patient/` scope grants only with a patient in context
        (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#patient-specific-scopes).
        """
        contexts = self.scopes.contexts_granting(resource_type, interaction)
        return bool(contexts - {"patient"}) or ("patient" in contexts and self.patient_id is not None)

    @property
    def patient_only(self) -> bool:
        """True when the token's resource access is limited to one patient's compartment."""
        return bool(self.scopes.resource_scopes) and all(s.context == "patient" for s in self.scopes.resource_scopes)


def set_current_access(ctx: AccessContext) -> None:
    g.fhir_access = ctx


def current_access() -> AccessContext:
    """The caller of the current request; raises LookupError when the request was not authorized."""
    ctx: AccessContext | None = g.get("fhir_access")
    if ctx is None:
        raise LookupError("no authorized FHIR access in this request; call guard.authorize first")
    return ctx
