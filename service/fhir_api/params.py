"""Parsing FHIR search parameter values: references, tokens and dates with prefixes.

https://hl7.org/fhir/R4/search.html#ptypes. Bad values raise FhirError 400 naming the parameter,
never a 500.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_

from service.fhir_api.outcome import FhirError

_DATE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4}(?:-\d{2}(?:-\d{2}(?:T.+)?)?)?)$")
SUPPORTED_PREFIXES = ("eq", "gt", "ge", "lt", "le")


def split_or(value: str) -> list[str]:
    """A comma-separated list of alternatives (https://hl7.org/fhir/R4/search.html#combining);
    `\\,` is a literal comma."""
    parts = re.split(r"(?<!\\),", value)
    return [p.replace("\\,", ",") for p in parts if p != ""]


def reference_id(param: str, value: str, target_type: str, base_url: str) -> str:
    """The id in `Type/id`, `id` or `<base>/Type/id`; 400 when it names another resource type."""
    text = value.removeprefix(base_url.rstrip("/") + "/")
    if "/" not in text:
        return text
    kind, _, ident = text.partition("/")
    if kind != target_type or not ident or "/" in ident:
        raise FhirError(400, f"parameter '{param}' expects a {target_type} reference, got '{value}'")
    return ident


def token_code(value: str) -> str:
    """The code of a token `system|code` or `code` (carebridge's codes are unambiguous per element)."""
    return value.rpartition("|")[2]


@dataclass(frozen=True)
class Instant:
    """A date or dateTime search value as the half-open interval it denotes."""

    start: dt.datetime
    end: dt.datetime


def _interval(param: str, text: str) -> Instant:
    try:
        if len(text) == 4:
            start = dt.datetime(int(text), 1, 1, tzinfo=dt.UTC)
            return Instant(start, start.replace(year=start.year + 1))
        if len(text) == 7:
            start = dt.datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=dt.UTC)
            following = (
                start.replace(year=start.year + 1, month=1)
                if start.month == 12
                else start.replace(month=start.month + 1)
            )
            return Instant(start, following)
        if len(text) == 10:
            start = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
            return Instant(start, start + dt.timedelta(days=1))
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(400, f"parameter '{param}' has an invalid date '{text}'") from None
    if moment.tzinfo is None:
        # https://hl7.org/fhir/R4/search.html#date: a time without zone is the server's; carebridge's is UTC.
        moment = moment.replace(tzinfo=dt.UTC)
    return Instant(moment, moment + dt.timedelta(microseconds=1))


def date_clause(param: str, value: str, column: Any) -> ColumnElement[bool]:
    """`column` compared with a prefixed date value (gt, ge, lt, le, eq)."""
    match = _DATE.match(value)
    if match is None:
        raise FhirError(400, f"parameter '{param}' has an invalid date '{value}'")
    prefix, text = match.group(1) or "eq", match.group(2)
    if prefix not in SUPPORTED_PREFIXES:
        raise FhirError(400, f"parameter '{param}': prefix '{prefix}' is not supported (use eq, gt, ge, lt, le)")
    interval = _interval(param, text)
    clause: ColumnElement[bool]
    if prefix == "gt":
        clause = column >= interval.end
    elif prefix == "ge":
        clause = column >= interval.start
    elif prefix == "lt":
        clause = column < interval.start
    elif prefix == "le":
        clause = column < interval.end
    else:
        clause = and_(column >= interval.start, column < interval.end)
    return clause
