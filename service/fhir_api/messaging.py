"""`POST /fhir/R4/$process-message` for Da Vinci admit/transfer/discharge notifications
(https://hl7.org/fhir/R4/messageheader-operation-process-message.html).

Answers with a response message (MessageHeader.response code `ok`) or an OperationOutcome:
400 for a message carebridge cannot read, 404/409/422 for one it understood and refused.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response

from service import clock
from service.app import request_session
from service.auth.audit import record_access_now
from service.auth.policy import allows
from service.auth.tokens import challenge
from service.fhir_api import install_error_handlers
from service.fhir_api.guard import bearer_access
from service.fhir_api.incoming import resource_body
from service.fhir_api.outcome import FhirError, fhir_response
from service.fhir_api.subscriptions_http import fhir_base, use_case_errors
from service.usecases import adt_messages

bp = Blueprint("fhir_messaging", __name__, url_prefix="/fhir/R4")
install_error_handlers(bp)


@bp.post("/$process-message")
def process_message() -> Response:
    # Every message writes an Encounter (an admit creates one, a transfer or discharge updates it);
    # the use case asks for the exact scopes once it knows what the message does.
    ctx = bearer_access()
    if not (allows(ctx, "Encounter", "c") or allows(ctx, "Encounter", "u")):
        raise FhirError(
            403, "the token's scopes permit neither 'c' nor 'u' on Encounter", headers=challenge("insufficient_scope")
        )
    session = request_session()
    with use_case_errors():
        message = adt_messages.parse_message(resource_body("Bundle"))
        stay = adt_messages.process(session, message, ctx, actor=f"client:{ctx.client_id}")
    record_access_now(
        session, ctx, action="E", interaction="process-message", resource_type="Encounter", resource_id=stay.id,
        patient_id=stay.patient_id, description=f"{message.event_code} {message.message_id}",
    )  # fmt: skip
    return fhir_response(response_message(message, f"Encounter/{stay.id}"))


def response_message(message: adt_messages.AdtMessage, focus: str) -> dict[str, object]:
    response_id = str(uuid.uuid4())
    header = {
        "resourceType": "MessageHeader",
        "id": response_id,
        "eventCoding": {"system": adt_messages.EVENT_SYSTEM, "code": message.event_code},
        "source": {"endpoint": fhir_base()},
        "response": {"identifier": message.message_id, "code": "ok"},
        "focus": [{"reference": focus}],
    }
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": clock.now().isoformat().replace("+00:00", "Z"),
        "entry": [{"fullUrl": f"urn:uuid:{response_id}", "resource": header}],
    }
