"""Words for carebridge's own codes that have no code system: the readiness checklist and barrier
categories (shown by the pages and written into the case timeline); every other code takes the
display of its code system in ``fhir_mappings.codes``."""

from __future__ import annotations

from datetime import date

READINESS = {
    "medication_reconciliation": "Medication reconciliation",
    "dme_ordered": "Equipment (DME) ordered",
    "transport": "Transport arranged",
    "patient_family_education": "Patient and family education",
    "followup_appointment_booked": "Follow-up appointment booked",
    "payer_authorization": "Payer authorization",
}
BARRIERS = {
    "post_acute_bed": "Post-acute bed",
    "insurance_authorization": "Insurance authorization",
    "family_caregiver": "Family or caregiver",
    "equipment": "Equipment",
    "transport": "Transport",
    "medical": "Medical",
    "placement_paperwork": "Placement paperwork",
    "housing": "Housing",
    "other": "Other",
}


def day_words(value: date, this_year: int, *, with_year: bool = False) -> str:
    """A planning date as people read it ("Tue 10 Mar", "Tue 01 Jun 2027" outside this year);
    ``with_year`` for dates far from today, such as a birth date."""
    if with_year:
        return value.strftime("%d %b %Y")
    return value.strftime("%a %d %b" if value.year == this_year else "%a %d %b %Y")
