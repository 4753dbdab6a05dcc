"""Dates and times in the signed-in user's time zone, always with the zone named; codes in words."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from fhir_mappings import codes
from service import clock
from service.domain.handoff_status import STATUS_WORDS
from service.domain.words import BARRIERS, READINESS, day_words


def user_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(moment: datetime | str | None, zone: ZoneInfo) -> Markup:
    """``<time>`` with the machine-readable instant and a local reading such as "Tue 10 Mar 04:00 EDT"
    (also of an ISO 8601 text, as a handoff's notes keep their time)."""
    if moment is None:
        return Markup("—")
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(zone)
    year = "" if local.year == clock.now().astimezone(zone).year else " %Y"
    text = local.strftime(f"%a %d %b{year} %H:%M ") + (local.tzname() or zone.key)
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(), text)


def day(value: date | None, *, with_year: bool = False) -> Markup:
    """A planning date ("Tue 10 Mar", "Tue 01 Jun 2027" outside this year); ``with_year`` for dates far
    from today, such as a birth date."""
    if value is None:
        return Markup("—")
    text = day_words(value, clock.now().year, with_year=with_year)
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), escape(text))


def local_input(moment: datetime, zone: ZoneInfo) -> str:
    """The value of an ``<input type=datetime-local>`` for an instant, in the user's zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def parse_local(value: str, zone: ZoneInfo) -> datetime:
    """An ``<input type=datetime-local>`` value read in the user's zone (ValueError if malformed)."""
    return datetime.fromisoformat(value).replace(tzinfo=zone)


# Compact forms for the worklist row; the full name is beside them for hover and screen readers.
READINESS_SHORT = {
    "medication_reconciliation": "Meds rec",
    "dme_ordered": "DME",
    "transport": "Transport",
    "patient_family_education": "Education",
    "followup_appointment_booked": "Follow-up appt",
    "payer_authorization": "Payer auth",
}
ROLES = {
    **codes.CARE_TEAM_ROLE.concepts,
    "intake_coordinator": "Intake coordinator",
    "case_manager": "Case manager",
    "auditor": "Auditor",
    "administrator": "Administrator",
}
VOCABULARIES: dict[str, dict[str, str]] = {
    "task_status": STATUS_WORDS,
    # R4 request-priority and Encounter.status (https://hl7.org/fhir/R4/valueset-request-priority.html).
    "priority": {"routine": "Routine", "urgent": "Urgent", "asap": "As soon as possible", "stat": "Immediately"},
    "stay_status": {
        "planned": "Planned",
        "in-progress": "In hospital",
        "finished": "Discharged",
        "cancelled": "Cancelled",
    },
    "referral_status": {
        "draft": "Draft",
        "active": "Active",
        "on-hold": "On hold",
        "revoked": "Withdrawn",
        "completed": "Completed",
        "entered-in-error": "Entered in error",
    },
    "service": dict(codes.REFERRAL_SERVICE.concepts),
    "handoff": dict(codes.HANDOFF_KIND.concepts),
    "disposition": {**codes.CAREBRIDGE_DISCHARGE_DISPOSITION.concepts, "expired": "Expired"},
    "org": dict(codes.ORGANIZATION_KIND.concepts),
    "readiness": READINESS,
    "barrier": BARRIERS,
    "role": ROLES,
    "identifier": {"mrn": "MRN", "member_id": "Member id", "partner": "Partner id"},
}
# Without a vocabulary, the first that knows the code (services before handoff kinds: "transport").
_ANY = {code: text for vocab in reversed(list(VOCABULARIES.values())) for code, text in vocab.items()}


def humanize(code: str | None, vocabulary: str | None = None) -> str:
    """A code in words ("snf_placement" -> "Skilled nursing facility placement"); unknown codes are
    shown with spaces and a capital rather than not at all."""
    if not code:
        return ""
    known = VOCABULARIES[vocabulary] if vocabulary else _ANY
    return known.get(code) or code.replace("_", " ").capitalize()
