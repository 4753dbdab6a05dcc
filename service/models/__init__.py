"""The case model: who is involved, the patient's stay, the plan, referrals and handoffs."""

from service.models.audit import AuditRecord
from service.models.events import ChangeEvent
from service.models.handoffs import Handoff, HandoffEvent
from service.models.partners import Delivery, Partner, PartnerLink, SyncError, SyncWatermark  # noqa: F401
from service.models.parties import CareTeamMember, Organization, Practitioner, User
from service.models.patients import Patient, PatientIdentifier
from service.models.plans import CasePlan, Goal
from service.models.referrals import Referral
from service.models.stays import Barrier, ReadinessItem, Stay
from service.models import audit_events, clients, keys  # noqa: F401  (FHIR API tables)
from service.models import bulk, subscriptions  # noqa: F401  (notifications and $export tables)

__all__ = [
    "AuditRecord",
    "Barrier",
    "CasePlan",
    "ChangeEvent",
    "CareTeamMember",
    "Goal",
    "Handoff",
    "HandoffEvent",
    "Organization",
    "Patient",
    "PatientIdentifier",
    "Practitioner",
    "ReadinessItem",
    "Referral",
    "Stay",
    "User",
]
from service.models import web  # noqa: F401  (web app sessions, EHR registrations)
