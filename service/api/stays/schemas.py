from marshmallow import Schema, fields, validate

from service.api.common import record_id
from service.models.stays import BARRIER_CATEGORIES, DISCHARGE_DISPOSITIONS


class ReadinessItemSchema(Schema):
    code = fields.Str(dump_only=True)
    met = fields.Bool(dump_only=True)
    met_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    met_by = fields.Str(dump_only=True, allow_none=True)
    handoff_id = fields.Str(dump_only=True, allow_none=True)


class BarrierSchema(Schema):
    id = fields.Str(dump_only=True)
    stay_id = fields.Str(dump_only=True)
    category = fields.Str(required=True, validate=validate.OneOf(BARRIER_CATEGORIES))
    note = fields.Str(load_default="", validate=validate.Length(max=4000))
    opened_at = fields.AwareDateTime(dump_only=True)
    opened_by = fields.Str(dump_only=True)
    resolved_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    resolved_by = fields.Str(dump_only=True, allow_none=True)


class ResolveBarrierSchema(Schema):
    note = fields.Str(load_default=None, validate=validate.Length(max=4000))


class StaySchema(Schema):
    id = fields.Str(dump_only=True)
    patient_id = record_id(required=True)
    hospital_id = record_id(required=True)
    status = fields.Str(dump_only=True)
    unit = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=40))
    bed = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=20))
    planner_id = record_id(allow_none=True, load_default=None)
    admitted_at = fields.AwareDateTime(required=True)
    expected_discharge_date = fields.Date(allow_none=True, load_default=None)
    medically_ready_date = fields.Date(allow_none=True, load_default=None)
    discharged_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    discharge_disposition = fields.Str(dump_only=True, allow_none=True)
    readiness_items = fields.List(fields.Nested(ReadinessItemSchema), dump_only=True)
    barriers = fields.List(fields.Nested(BarrierSchema), dump_only=True)


class StayUpdateSchema(Schema):
    unit = fields.Str(allow_none=True, validate=validate.Length(max=40))
    bed = fields.Str(allow_none=True, validate=validate.Length(max=20))
    planner_id = record_id(allow_none=True)
    expected_discharge_date = fields.Date(allow_none=True)
    medically_ready_date = fields.Date(allow_none=True)


class ReadinessUpdateSchema(Schema):
    met = fields.Bool(required=True)


class DischargeSchema(Schema):
    discharged_at = fields.AwareDateTime(required=True)
    disposition = fields.Str(required=True, validate=validate.OneOf(DISCHARGE_DISPOSITIONS))
