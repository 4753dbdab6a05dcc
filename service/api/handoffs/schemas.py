from marshmallow import Schema, fields, validate

from service.api.common import record_id
from service.domain.handoff_status import TASK_STATUSES
from service.models.handoffs import HANDOFF_KINDS


class HandoffEventSchema(Schema):
    at = fields.AwareDateTime()
    actor = fields.Str()
    from_status = fields.Str(allow_none=True)
    to_status = fields.Str()
    business_status = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True)


class HandoffNoteSchema(Schema):
    at = fields.Str()
    author = fields.Str()
    text = fields.Str()


class HandoffSchema(Schema):
    id = fields.Str(dump_only=True)
    patient_id = record_id(required=True)
    stay_id = record_id(allow_none=True, load_default=None)
    referral_id = fields.Str(dump_only=True, allow_none=True)
    kind = fields.Str(required=True, validate=validate.OneOf(HANDOFF_KINDS))
    description = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    owner_org_id = record_id(required=True)
    owner_user_id = record_id(allow_none=True, load_default=None)
    requester_org_id = record_id(required=True)
    # Every FHIR Task status a handoff can reach (https://hl7.org/fhir/R4/valueset-task-status.html).
    status = fields.Str(dump_only=True, validate=validate.OneOf(TASK_STATUSES))
    business_status = fields.Str(dump_only=True, allow_none=True)
    status_reason = fields.Str(dump_only=True, allow_none=True)
    outcome = fields.Str(dump_only=True, allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True, load_default=None)
    execution_start = fields.AwareDateTime(dump_only=True, allow_none=True)
    execution_end = fields.AwareDateTime(dump_only=True, allow_none=True)
    authored_on = fields.AwareDateTime(dump_only=True)
    status_changed_at = fields.AwareDateTime(dump_only=True)
    version = fields.Int(dump_only=True)
    overdue = fields.Method("_overdue", dump_only=True)
    notes = fields.List(fields.Nested(HandoffNoteSchema), dump_only=True)
    events = fields.List(fields.Nested(HandoffEventSchema), dump_only=True)

    def _overdue(self, handoff: object) -> bool:
        from service import clock
        from service.domain.timing import is_overdue

        return is_overdue(handoff.kind, handoff.status, handoff.due_at, clock.now())  # type: ignore[attr-defined]


class NewHandoffSchema(HandoffSchema):
    """A handoff to create: it starts as draft, requested or ready."""

    status = fields.Str(load_default="requested", validate=validate.OneOf(("draft", "requested", "ready")))


class TransitionSchema(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(TASK_STATUSES))
    reason = fields.Str(load_default=None, validate=validate.Length(max=2000))
    business_status = fields.Str(load_default=None, validate=validate.Length(max=120))
    # What the recipient did, with status completed (required to complete a referral: Task.output).
    outcome = fields.Str(load_default=None, validate=validate.Length(min=1, max=2000))


class BusinessStatusSchema(Schema):
    business_status = fields.Str(required=True, allow_none=True, validate=validate.Length(max=120))


class NoteSchema(Schema):
    text = fields.Str(required=True, validate=validate.Length(min=1, max=4000))


class QueueArgs(Schema):
    include_closed = fields.Bool(load_default=False)
