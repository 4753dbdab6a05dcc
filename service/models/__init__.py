"""The case model: who is involved, the patient's stay, the plan, referrals and handoffs."""

# Every table module is imported here so that Base.metadata (Alembic, test schemas) knows them all.
from service.models import audit_events, bulk, clients, documents, keys, renditions, subscriptions, web  # noqa: F401
from service.models.audit import AuditRecord
from service.models.events import ChangeEvent
from service.models.handoffs import Handoff, HandoffEvent
from service.models.parties import CareTeamMember, Organization, Practitioner, User
from service.models.partners import Delivery, Partner, PartnerLink, PatientMatch, SyncError, SyncWatermark  # noqa: F401
from service.models.patients import Patient, PatientIdentifier
from service.models.plans import CasePlan, Goal
from service.models.referrals import Referral
from service.models.screenings import HealthConcern, Questionnaire, Screening, ScreeningObservation
from service.models.stays import Barrier, ReadinessItem, Stay

__all__ = [
    "AuditRecord",
    "Barrier",
    "CasePlan",
    "ChangeEvent",
    "CareTeamMember",
    "Goal",
    "Handoff",
    "HandoffEvent",
    "HealthConcern",
    "Organization",
    "Patient",
    "PatientIdentifier",
    "Questionnaire",
    "Practitioner",
    "ReadinessItem",
    "Referral",
    "Screening",
    "ScreeningObservation",
    "Stay",
    "User",
]
