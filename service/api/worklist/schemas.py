from marshmallow import Schema, fields, validate

from service.api.stays.schemas import BarrierSchema


class WorklistArgs(Schema):
    unit = fields.Str()
    planner_id = fields.Str()
    hospital_id = fields.Str()
    edd_from = fields.Date()
    edd_to = fields.Date()
    has_overdue = fields.Bool(load_default=False)
    limit = fields.Int(load_default=25, validate=validate.Range(min=1, max=200))
    cursor = fields.Str()
    tz = fields.Str(
        metadata={
            "description": "IANA time zone that defines 'today'. Default: the caller's own zone (as the web app "
            "uses), for a backend client its organisation's, else UTC"
        }
    )


class WorklistPatientSchema(Schema):
    id = fields.Str()
    display_name = fields.Str()


class WorklistRowSchema(Schema):
    stay_id = fields.Str(attribute="stay.id")
    patient = fields.Nested(WorklistPatientSchema, attribute="stay.patient")
    unit = fields.Str(attribute="stay.unit", allow_none=True)
    bed = fields.Str(attribute="stay.bed", allow_none=True)
    planner_id = fields.Str(attribute="stay.planner_id", allow_none=True)
    admitted_at = fields.AwareDateTime(attribute="stay.admitted_at")
    expected_discharge_date = fields.Date(attribute="stay.expected_discharge_date", allow_none=True)
    medically_ready_date = fields.Date(attribute="stay.medically_ready_date", allow_none=True)
    days_to_edd = fields.Int(allow_none=True)
    open_handoffs = fields.Int()
    overdue_handoffs = fields.Int()
    due_today_handoffs = fields.Int()
    unmet_readiness = fields.List(fields.Str())
    readiness_total = fields.Int()
    open_barriers = fields.List(fields.Nested(BarrierSchema))
    avoidable_days = fields.Int()
    screened = fields.Bool(metadata={"description": "The stay has a screening"})
    concerns_to_address = fields.Int(
        metadata={"description": "Suggested concerns not decided, and confirmed ones no goal or referral serves"}
    )


class WorklistPageSchema(Schema):
    items = fields.List(fields.Nested(WorklistRowSchema), attribute="rows")
    next_cursor = fields.Str(allow_none=True)
    time_zone = fields.Str()
