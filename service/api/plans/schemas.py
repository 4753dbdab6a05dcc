from marshmallow import Schema, fields, validate

from service.api.common import Coding, record_id
from service.api.screenings.schemas import concern_field
from service.models.plans import GOAL_ACHIEVEMENT, GOAL_LIFECYCLE, PLAN_INTENTS, PLAN_STATUSES


class GoalSchema(Schema):
    id = fields.Str(dump_only=True)
    patient_id = fields.Str(dump_only=True)
    case_plan_id = fields.Str(dump_only=True)
    description = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    lifecycle_status = fields.Str(load_default="active", validate=validate.OneOf(GOAL_LIFECYCLE))
    achievement_status = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(GOAL_ACHIEVEMENT))
    start_date = fields.Date(allow_none=True, load_default=None)
    target_measure = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=200))
    target_due_date = fields.Date(allow_none=True, load_default=None)
    expressed_by_ref = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=120))
    concern_id = concern_field(
        allow_none=True, load_default=None, metadata={"description": "A confirmed concern it serves"}
    )
    notes = fields.List(fields.Str(validate=validate.Length(max=4000)), load_default=list)
    version = fields.Int(dump_only=True)


class GoalUpdateSchema(Schema):
    description = fields.Str(validate=validate.Length(min=1, max=2000))
    lifecycle_status = fields.Str(validate=validate.OneOf(GOAL_LIFECYCLE))
    achievement_status = fields.Str(allow_none=True, validate=validate.OneOf(GOAL_ACHIEVEMENT))
    start_date = fields.Date(allow_none=True)
    target_measure = fields.Str(allow_none=True, validate=validate.Length(max=200))
    target_due_date = fields.Date(allow_none=True)
    expressed_by_ref = fields.Str(allow_none=True, validate=validate.Length(max=120))
    concern_id = concern_field(allow_none=True)
    notes = fields.List(fields.Str(validate=validate.Length(max=4000)))


class CasePlanSchema(Schema):
    id = fields.Str(dump_only=True)
    patient_id = record_id(required=True)
    stay_id = record_id(allow_none=True, load_default=None)
    status = fields.Str(load_default="active", validate=validate.OneOf(PLAN_STATUSES))
    intent = fields.Str(load_default="plan", validate=validate.OneOf(PLAN_INTENTS))
    categories = fields.List(fields.Str(), dump_only=True)
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    description = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=4000))
    period_start = fields.Date(allow_none=True, load_default=None)
    period_end = fields.Date(allow_none=True, load_default=None)
    author_ref = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=120))
    addresses = fields.List(fields.Nested(Coding), load_default=list)
    concern_ids = fields.List(
        fields.Str(), dump_only=True, metadata={"description": "Confirmed health concerns the plan addresses"}
    )
    notes = fields.List(fields.Str(validate=validate.Length(max=4000)), load_default=list)
    version = fields.Int(dump_only=True)
    goals = fields.List(fields.Nested(GoalSchema), dump_only=True)


class CasePlanUpdateSchema(Schema):
    status = fields.Str(validate=validate.OneOf(PLAN_STATUSES))
    intent = fields.Str(validate=validate.OneOf(PLAN_INTENTS))
    title = fields.Str(validate=validate.Length(min=1, max=200))
    description = fields.Str(allow_none=True, validate=validate.Length(max=4000))
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    author_ref = fields.Str(allow_none=True, validate=validate.Length(max=120))
    addresses = fields.List(fields.Nested(Coding))
    notes = fields.List(fields.Str(validate=validate.Length(max=4000)))
