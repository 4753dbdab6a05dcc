from marshmallow import Schema, fields, validate

from service.api.common import record_id
from service.models.screenings import DerivedId


def concern_field(**options: object) -> fields.Str:
    """A health concern's id: derived from its screening's, longer than a UUID."""
    return fields.Str(validate=validate.Length(min=1, max=DerivedId.length), **options)  # type: ignore[arg-type]


class ConcernSchema(Schema):
    id = fields.Str(dump_only=True)
    patient_id = fields.Str(dump_only=True)
    stay_id = fields.Str(dump_only=True)
    screening_id = fields.Str(dump_only=True)
    code = fields.Str(dump_only=True, metadata={"description": "SNOMED CT finding"})
    display = fields.Str(dump_only=True)
    categories = fields.List(fields.Str(), dump_only=True)
    clinical_status = fields.Str(dump_only=True)
    verification_status = fields.Str(dump_only=True, metadata={"description": "unconfirmed, confirmed or refuted"})
    decided_by = fields.Str(dump_only=True)
    decided_at = fields.AwareDateTime(dump_only=True)
    recorded = fields.AwareDateTime(dump_only=True)
    version = fields.Int(dump_only=True)


class ConcernDecisionSchema(Schema):
    verification_status = fields.Str(required=True, validate=validate.OneOf(("confirmed", "refuted")))


class ScreeningSchema(Schema):
    id = fields.Str(dump_only=True)
    patient_id = record_id(required=True)
    stay_id = record_id(allow_none=True, load_default=None)
    response = fields.Dict(
        required=True, load_only=True, metadata={"description": "The FHIR R4 QuestionnaireResponse as answered"}
    )
    questionnaire = fields.Str(dump_only=True)
    status = fields.Str(dump_only=True)
    authored = fields.AwareDateTime(dump_only=True)
    author = fields.Str(dump_only=True)
    version = fields.Int(dump_only=True)
    concerns = fields.List(fields.Nested(ConcernSchema), dump_only=True)
