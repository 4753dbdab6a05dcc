"""Parsing FHIR search parameter values: references, tokens, strings and dates with prefixes.

https://hl7.org/fhir/R4/search.html#ptypes. Bad values raise FhirError 400 naming the parameter,
never a 500.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_

from service.fhir_api.outcome import FhirError

_DATE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4}(?:-\d{2}(?:-\d{2}(?:T.+)?)?)?)$")
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
# https://hl7.org/fhir/R4/search.html#prefix: `ap` is "approximately the same"; R4 recommends
# 10% of the gap between now and the value.
_APPROXIMATE = 0.1


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


@dataclass(frozen=True)
class Codes:
    """Where the codes a token parameter compares with come from.

    `system` is the code system of the stored codes (for elements of type `code`, the implicit
    system of the bound value set; None when the element has no system). `aliases` maps a coding of
    another system that carebridge also sends (SNOMED CT next to its own code) to the stored codes
    it stands for.
    """

    system: str | None
    aliases: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def stored(self, param: str, value: str) -> list[str]:
        """The stored codes a token value matches (https://hl7.org/fhir/R4/search.html#token):
        `code` in any system, `system|code` in that system only, `|code` only without a system."""
        system, bar, code = value.rpartition("|")
        if not code:
            raise FhirError(400, f"parameter '{param}' needs a code (system|code, |code or code)")
        if not bar:
            return [code, *(c for (_, other), ours in self.aliases.items() if other == code for c in ours)]
        if system == "":
            return [code] if self.system is None else []
        if system == self.system:
            return [code]
        return list(self.aliases.get((system, code), ()))


def token_clause(param: str, value: str, column: Any, codes: Codes) -> ColumnElement[bool]:
    stored = codes.stored(param, value)
    return column.in_(stored) if stored else false()


def string_clause(param: str, modifier: str, value: str, columns: tuple[Any, ...]) -> ColumnElement[bool]:
    """https://hl7.org/fhir/R4/search.html#string: by default case-insensitive "starts with" on any
    of `columns`; `:exact` is exact and case-sensitive, `:contains` matches anywhere."""
    if modifier == "exact":
        return or_(*(column == value for column in columns))
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%" if modifier == "contains" else f"{escaped}%"
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


def string_matches(modifier: str, value: str, texts: tuple[str | None, ...]) -> bool:
    """`string_clause`'s rule for values carebridge derives rather than stores (a Location's name):
    case-insensitive "starts with" any of `texts`, `:exact` equal, `:contains` anywhere."""
    present = [text for text in texts if text]
    if modifier == "exact":
        return value in present
    wanted = value.lower()
    if modifier == "contains":
        return any(wanted in text.lower() for text in present)
    return any(text.lower().startswith(wanted) for text in present)


@dataclass(frozen=True)
class Interval:
    """A date or dateTime search value as the half-open interval its precision denotes
    (https://hl7.org/fhir/R4/search.html#date: "2026-12-01T21:24:05Z" is the whole second)."""

    start: dt.datetime
    end: dt.datetime


# hh:mm, then :ss, then .fraction: the value's precision.
_CLOCK = re.compile(r"^\d{2}:\d{2}(:\d{2})?(?:\.(\d+))?")


def _interval(param: str, text: str) -> Interval:
    try:
        if len(text) == 4:
            start = dt.datetime(int(text), 1, 1, tzinfo=dt.UTC)
            return Interval(start, start.replace(year=start.year + 1))
        if len(text) == 7:
            start = dt.datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=dt.UTC)
            following = (
                start.replace(year=start.year + 1, month=1)
                if start.month == 12
                else start.replace(month=start.month + 1)
            )
            return Interval(start, following)
        if len(text) == 10:
            start = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
            return Interval(start, start + dt.timedelta(days=1))
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(400, f"parameter '{param}' has an invalid date '{text}'") from None
    if moment.tzinfo is None:
        # https://hl7.org/fhir/R4/search.html#date: a time without zone is the server's; carebridge's is UTC.
        moment = moment.replace(tzinfo=dt.UTC)
    clock_time = _CLOCK.match(text.partition("T")[2])
    if clock_time is not None and clock_time.group(2):
        step = dt.timedelta(microseconds=10 ** max(0, 6 - len(clock_time.group(2))))
    elif clock_time is not None and clock_time.group(1):
        step = dt.timedelta(seconds=1)
    else:
        step = dt.timedelta(minutes=1)  # hh:mm (allowed in search values)
    return Interval(moment, moment + step)


def _approximate(interval: Interval) -> Interval:
    now = dt.datetime.now(dt.UTC)
    gap = max(abs(now - interval.start), abs(now - interval.end)) * _APPROXIMATE
    return Interval(interval.start - gap, interval.end + gap)


def date_clause(
    param: str, value: str, low: Any, high: Any | None = None, *, open_end: bool = False, dates: bool = False
) -> ColumnElement[bool]:
    """The target (the instant `low`, or the period `low`..`high` whose end is open when NULL and
    `open_end`) compared with a prefixed date value, by the range rules of
    https://hl7.org/fhir/R4/search.html#prefix. `dates`: the columns hold calendar dates, each
    the whole day."""
    match = _DATE.match(value)
    if match is None:
        raise FhirError(400, f"parameter '{param}' has an invalid date '{value}'")
    prefix, text = match.group(1) or "eq", match.group(2)
    interval = _interval(param, text)
    if prefix == "ap":
        interval = _approximate(interval)
    start: Any = interval.start
    end: Any = interval.end
    if dates:
        # A day column covers [day, day + 1): compare with the whole days the value touches.
        start = interval.start.date()
        end = interval.end.date() + (dt.timedelta(days=1) if interval.end.time() != dt.time() else dt.timedelta())
    high = low if high is None else high

    def high_at_least(bound: Any) -> ColumnElement[bool]:
        return or_(high.is_(None), high >= bound) if open_end else high >= bound

    def high_below(bound: Any) -> ColumnElement[bool]:
        return and_(high.is_not(None), high < bound) if open_end else high < bound

    equal = and_(low >= start, high_below(end))
    clauses: dict[str, ColumnElement[bool]] = {
        "eq": equal,
        "ne": not_(equal),
        "gt": high_at_least(end),
        "lt": low < start,
        "ge": or_(high_at_least(end), equal) if open_end or high is not low else low >= start,
        "le": or_(low < start, equal) if open_end or high is not low else low < end,
        "sa": low >= end,
        "eb": high_below(start),
        "ap": and_(low < end, high_at_least(start)),
    }
    return clauses[prefix]
