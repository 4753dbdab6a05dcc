from marshmallow import Schema, fields, validate

from service.models.parties import ORGANIZATION_KINDS


class IdentifierSchema(Schema):
    system = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    value = fields.Str(required=True, validate=validate.Length(min=1, max=255))


class OrganizationSchema(Schema):
    id = fields.Str(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Str(required=True, validate=validate.OneOf(ORGANIZATION_KINDS))
    identifiers = fields.List(fields.Nested(IdentifierSchema), load_default=list)
    address_line = fields.Str(allow_none=True, validate=validate.Length(max=200))
    address_city = fields.Str(allow_none=True, validate=validate.Length(max=100))
    address_state = fields.Str(allow_none=True, validate=validate.Length(max=40))
    address_postal_code = fields.Str(allow_none=True, validate=validate.Length(max=20))
    phone = fields.Str(allow_none=True, validate=validate.Length(max=40))


class OrganizationQuery(Schema):
    kind = fields.Str(validate=validate.OneOf(ORGANIZATION_KINDS))
