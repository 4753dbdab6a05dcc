"""carebridge records <-> FHIR R4 resources: pure functions, no Flask, database or network.

Each resource family has a module with three functions, for example `handoff`:

    to_fhir_task_json(handoff: HandoffData) -> dict   # plain JSON, the fast path
    to_fhir_task(handoff: HandoffData) -> Task         # the same, as a fhir.resources R4B model
    from_fhir_task(resource: Mapping | Task) -> HandoffData

| domain (`domain`)  | resource       | module         | profile claimed                    |
|--------------------|----------------|----------------|------------------------------------|
| CarePlanData       | CarePlan       | `care_plan`    | US Core CarePlan                   |
| GoalData           | Goal           | `goal`         | US Core Goal                       |
| ReferralData       | ServiceRequest | `referral`     | US Core ServiceRequest             |
| HandoffData        | Task           | `handoff`      | carebridge handoff-task            |
| CareTeamData       | CareTeam       | `care_team`    | US Core CareTeam                   |
| StayData           | Encounter      | `stay`         | US Core Encounter                  |
| PatientData        | Patient        | `patient`      | US Core Patient                    |
| OrganizationData   | Organization   | `organization` | US Core Organization               |
| PractitionerData   | Practitioner   | `practitioner` | US Core Practitioner               |
| PractitionerRoleData | PractitionerRole | `practitioner_role` | US Core PractitionerRole     |
| LocationData       | Location       | `location`     | US Core Location                   |
| ProvenanceData     | Provenance     | `provenance`   | US Core Provenance                 |
| DocumentData       | DocumentReference | `document`  | US Core DocumentReference          |
| ScreeningData      | QuestionnaireResponse | `screening` | SDC QuestionnaireResponse   |

`screening` also ships the screening instruments as Questionnaires (`instrument(name)`) and
derives a screening's Observations and suggested health concerns (`screening_findings`).

`validation.validate(resource, profile=None)` returns OperationOutcome issues; `bundle` builds
and reads Bundles; `roundtrip` imports and re-exports any of the above.

Nothing a partner sends is lost (see `codec` for the rules): a record imported with `from_fhir_*`
keeps the partner's JSON in `source`, and exporting it again gives back that JSON, changed only
in the elements whose domain value carebridge changed. Normalisations, all of them:
- JSON object key order is not significant. The JSON path keeps the partner's order and appends
  elements carebridge adds; the model path (`to_fhir_*`, fhir.resources) serialises in FHIR's
  element order and writes instants at UTC offset zero as "Z".
- When carebridge changes any field of a CarePlan whose narrative is `generated`, the narrative is
  regenerated; a contained resource that only a removed value referred to is dropped.
- A value the domain type cannot hold reads as None and stays in `source` unchanged: a partial
  date ("2016-03"), a `dateTime` without a time where an instant is expected, a reference that
  is not a relative `Type/id` (absolute, contained, urn:uuid, identifier only).
- `from_fhir_*` assumes well-formed input: call `validate` first on anything untrusted (the
  validation-off path exists for resources already checked, e.g. re-reading carebridge's own).
- Codes carebridge does not know read as the documented fallback ("other" for handoff kind,
  referral service and discharge disposition; "routine" for a missing priority); the partner's
  concept stays as sent unless carebridge changes the value.
"""

from .bundle import bundle_collection, bundle_collection_json, resources_in
from .care_plan import from_fhir_care_plan, to_fhir_care_plan, to_fhir_care_plan_json
from .care_team import from_fhir_care_team, to_fhir_care_team, to_fhir_care_team_json
from .codec import MappingError
from .datatypes import business_identifier
from .document import (
    from_fhir_document_reference,
    to_fhir_binary_json,
    to_fhir_document_reference,
    to_fhir_document_reference_json,
)
from .domain import (
    AddressData,
    CarePlanData,
    CareTeamData,
    CareTeamMember,
    CodeableConceptData,
    DocumentData,
    GoalData,
    HandoffData,
    Identifier,
    LocationData,
    OrganizationData,
    PatientData,
    PractitionerData,
    PractitionerRoleData,
    ProvenanceData,
    ReferralData,
    StayData,
)
from .goal import from_fhir_goal, to_fhir_goal, to_fhir_goal_json
from .handoff import from_fhir_task, task_outcome, to_fhir_task, to_fhir_task_json
from .location import from_fhir_location, location_id, to_fhir_location, to_fhir_location_json
from .organization import from_fhir_organization, to_fhir_organization, to_fhir_organization_json
from .patient import from_fhir_patient, to_fhir_patient, to_fhir_patient_json
from .practitioner import from_fhir_practitioner, to_fhir_practitioner, to_fhir_practitioner_json
from .practitioner_role import (
    from_fhir_practitioner_role,
    to_fhir_practitioner_role,
    to_fhir_practitioner_role_json,
)
from .provenance import from_fhir_provenance, provenance_for, to_fhir_provenance, to_fhir_provenance_json
from .referral import from_fhir_service_request, to_fhir_service_request, to_fhir_service_request_json
from .roundtrip import roundtrip_json
from .stay import from_fhir_encounter, to_fhir_encounter, to_fhir_encounter_json
from .validation import Issue, has_errors, to_operation_outcome, to_operation_outcome_json, validate

__all__ = [
    "AddressData",
    "CarePlanData",
    "CareTeamData",
    "CareTeamMember",
    "CodeableConceptData",
    "DocumentData",
    "GoalData",
    "HandoffData",
    "Identifier",
    "Issue",
    "LocationData",
    "MappingError",
    "OrganizationData",
    "PractitionerData",
    "PractitionerRoleData",
    "PatientData",
    "ProvenanceData",
    "ReferralData",
    "StayData",
    "bundle_collection",
    "business_identifier",
    "bundle_collection_json",
    "from_fhir_care_plan",
    "from_fhir_care_team",
    "from_fhir_document_reference",
    "from_fhir_encounter",
    "from_fhir_goal",
    "from_fhir_location",
    "from_fhir_organization",
    "from_fhir_practitioner",
    "from_fhir_practitioner_role",
    "from_fhir_patient",
    "from_fhir_provenance",
    "from_fhir_service_request",
    "from_fhir_task",
    "has_errors",
    "location_id",
    "provenance_for",
    "resources_in",
    "roundtrip_json",
    "to_fhir_care_plan",
    "to_fhir_care_plan_json",
    "to_fhir_care_team",
    "to_fhir_binary_json",
    "to_fhir_care_team_json",
    "to_fhir_document_reference",
    "to_fhir_document_reference_json",
    "to_fhir_encounter",
    "to_fhir_encounter_json",
    "to_fhir_goal",
    "to_fhir_goal_json",
    "to_fhir_location",
    "to_fhir_location_json",
    "to_fhir_organization",
    "to_fhir_organization_json",
    "to_fhir_practitioner",
    "to_fhir_practitioner_json",
    "to_fhir_practitioner_role",
    "to_fhir_practitioner_role_json",
    "to_fhir_patient",
    "to_fhir_patient_json",
    "to_fhir_provenance",
    "to_fhir_provenance_json",
    "to_fhir_service_request",
    "to_fhir_service_request_json",
    "task_outcome",
    "to_fhir_task",
    "to_fhir_task_json",
    "to_operation_outcome",
    "to_operation_outcome_json",
    "validate",
]
