"""What the domain types can hold of a partner's values, and what reads as None."""

from __future__ import annotations

import datetime as dt

import pytest

from fhir_mappings import Identifier
from fhir_mappings.datatypes import (
    business_identifier,
    parse_date,
    parse_instant,
    parse_reference,
    parse_versioned_reference,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-04", dt.date(2024, 3, 4)),
        ("2024-03-04T23:30:00-05:00", dt.date(2024, 3, 4)),  # the partner's local date
        ("2024-03", None),
        ("2024", None),
        ("2024-02-30", None),
        (20240304, None),
    ],
)
def test_parse_date(raw: object, expected: dt.date | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-04T08:00:00Z", dt.datetime(2024, 3, 4, 8, tzinfo=dt.UTC)),
        ("2024-03-04T08:00:00.125+10:00", dt.datetime(2024, 3, 3, 22, 0, 0, 125000, tzinfo=dt.UTC)),
        ("2024-03-04", None),  # no time: not an instant
        ("2024-03-04T08:00:00", None),  # no zone
        ("soon", None),
    ],
)
def test_parse_instant(raw: object, expected: dt.datetime | None) -> None:
    assert parse_instant(raw) == expected


@pytest.mark.parametrize(
    ("reference", "plain", "versioned"),
    [
        ("Patient/p-1", "Patient/p-1", "Patient/p-1"),
        ("ServiceRequest/x/_history/2", "ServiceRequest/x", "ServiceRequest/x/_history/2"),
        ("https://ehr.example/fhir/Patient/p-1", None, None),
        ("#contained", None, None),
        ("urn:uuid:9d8c7b6a-0000-4000-8000-000000000000", None, None),
    ],
)
def test_only_relative_references_name_a_carebridge_record(reference: str, plain: str, versioned: str) -> None:
    assert parse_reference({"reference": reference}) == plain
    assert parse_versioned_reference({"reference": reference}) == versioned
    assert parse_reference({"identifier": {"value": "x"}}) is None


def test_business_identifier_system_is_carebridges_canonical() -> None:
    assert business_identifier("referral", "r-1") == Identifier(
        "https://carebridge.dev/fhir/identifier/referral", "r-1"
    )
