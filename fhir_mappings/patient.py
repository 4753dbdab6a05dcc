"""Patient identity <-> Patient, US Core Patient profile
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-patient.html).

carebridge models the first name (family + given names), birth date, gender and identifiers;
everything else a partner sends (telecom, address, further names, extensions such as race and
ethnicity) stays in `source`.
"""

from __future__ import annotations

from fhir.resources.R4B.patient import Patient

from . import fields as f
from .codec import ResourceMap
from .domain import PatientData
from .profiles import US_CORE_PATIENT, meta_claiming

PATIENT: ResourceMap[PatientData, Patient] = ResourceMap(
    Patient,
    PatientData,
    (
        f.resource_id(),
        f.identifiers(),
        *f.first_name(),
        f.text("gender", ("gender",)),
        f.date("birth_date", ("birthDate",)),
    ),
    {"resourceType": "Patient", "meta": meta_claiming(US_CORE_PATIENT)},
)

to_fhir_patient_json = PATIENT.to_json
to_fhir_patient = PATIENT.to_model
from_fhir_patient = PATIENT.from_fhir
