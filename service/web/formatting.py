"""Dates and times in the signed-in user's time zone, always with the zone named."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape


def user_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(moment: datetime | None, zone: ZoneInfo) -> Markup:
    """``<time>`` with the machine-readable instant and a local reading such as "Tue 10 Mar 04:00 EDT"."""
    if moment is None:
        return Markup("—")
    local = moment.astimezone(zone)
    text = local.strftime("%a %d %b %H:%M ") + (local.tzname() or zone.key)
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(), text)


def day(value: date | None, *, with_year: bool = False) -> Markup:
    """A planning date ("Tue 10 Mar"); ``with_year`` for dates far from today, such as a birth date."""
    if value is None:
        return Markup("—")
    text = value.strftime("%d %b %Y" if with_year else "%a %d %b")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), escape(text))


def local_input(moment: datetime, zone: ZoneInfo) -> str:
    """The value of an ``<input type=datetime-local>`` for an instant, in the user's zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def parse_local(value: str, zone: ZoneInfo) -> datetime:
    """An ``<input type=datetime-local>`` value read in the user's zone (ValueError if malformed)."""
    return datetime.fromisoformat(value).replace(tzinfo=zone)


def humanize(code: str | None) -> str:
    return (code or "").replace("_", " ")
