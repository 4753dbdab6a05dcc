from marshmallow import Schema, fields, validate

from service import clock
from service.api.common import record_id
from service.api.handoffs.schemas import HandoffSchema
from service.api.screenings.schemas import concern_field
from service.app import request_session
from service.models import Referral
from service.models.referrals import PRIORITIES, REFERRAL_SERVICES, REFERRAL_STATUSES
from service.usecases import closing, referrals


class DiagnosisSchema(Schema):
    """A coded diagnosis (e.g. ICD-10-CM), or one described in free text (display alone)."""

    system = fields.Str(
        validate=validate.Length(min=1, max=200), metadata={"example": "http://hl7.org/fhir/sid/icd-10-cm"}
    )
    code = fields.Str(validate=validate.Length(min=1, max=60))
    display = fields.Str(validate=validate.Length(min=1, max=500))


class ReferralSchema(Schema):
    id = fields.Str(dump_only=True)
    patient_id = record_id(required=True)
    stay_id = record_id(allow_none=True, load_default=None)
    case_plan_id = record_id(allow_none=True, load_default=None)
    # The goal the referral serves; its achievement follows the referral's outcome.
    goal_id = record_id(allow_none=True, load_default=None)
    service = fields.Str(required=True, validate=validate.OneOf(REFERRAL_SERVICES))
    reason = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    # ServiceRequest.reasonCode: https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.reasonCode
    diagnoses = fields.List(
        fields.Nested(DiagnosisSchema), load_default=list, validate=validate.Length(max=referrals.MAX_DIAGNOSES)
    )
    concern_id = concern_field(
        allow_none=True, load_default=None, metadata={"description": "A confirmed concern it serves"}
    )
    priority = fields.Str(load_default="routine", validate=validate.OneOf(PRIORITIES))
    status = fields.Str(dump_only=True)
    requester_org_id = record_id(required=True, load_only=True)
    requester_ref = fields.Str(dump_only=True)
    recipient_org_ids = fields.List(
        record_id(), required=True, load_only=True, validate=validate.Length(min=1, max=20)
    )
    wanted_by = fields.Date(allow_none=True, load_default=None)
    answer_due_at = fields.AwareDateTime(allow_none=True, load_default=None, load_only=True)
    authored_on = fields.AwareDateTime(dump_only=True)
    version = fields.Int(dump_only=True)
    handoffs = fields.List(fields.Nested(HandoffSchema), dump_only=True)
    # Where its loop stands: open, no response, closed or unmet (service.domain.referral_loop).
    loop = fields.Method("_loop", dump_only=True)

    def _loop(self, referral: Referral) -> str:
        return closing.loop_of(request_session(), referral, clock.now()).state


class ConfirmPlacementSchema(Schema):
    handoff_id = record_id(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class ReferralStatusSchema(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(REFERRAL_STATUSES))


class CloseReferralSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
