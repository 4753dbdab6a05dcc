from marshmallow import Schema, fields, validate

from service.api.common import record_id
from service.models.patients import IDENTIFIER_KINDS

GENDERS = ("male", "female", "other", "unknown")


class PatientIdentifierSchema(Schema):
    kind = fields.Str(load_default="partner", validate=validate.OneOf(IDENTIFIER_KINDS))
    system = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    value = fields.Str(required=True, validate=validate.Length(min=1, max=255))


class PatientSchema(Schema):
    id = fields.Str(dump_only=True)
    family_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    given_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(allow_none=True, load_default=None)
    gender = fields.Str(allow_none=True, load_default=None, validate=validate.OneOf(GENDERS))
    payer_id = record_id(allow_none=True, load_default=None)
    primary_care_id = record_id(allow_none=True, load_default=None)
    identifiers = fields.List(fields.Nested(PatientIdentifierSchema), load_default=list)


class PatientUpdateSchema(Schema):
    family_name = fields.Str(validate=validate.Length(min=1, max=100))
    given_name = fields.Str(validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(allow_none=True)
    gender = fields.Str(allow_none=True, validate=validate.OneOf(GENDERS))
    payer_id = record_id(allow_none=True)
    primary_care_id = record_id(allow_none=True)
