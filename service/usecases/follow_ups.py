"""The follow-ups a discharge starts, by disposition: configuration, validated on load.

The defaults ship as `follow_ups.json` beside this module; an operator points `CAREBRIDGE_FOLLOW_UPS`
at a file of the same shape to use their own. `carebridge followups show|check` reads them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from service.models.handoffs import HANDOFF_KINDS
from service.models.stays import DISCHARGE_DISPOSITIONS

SHIPPED = Path(__file__).with_name("follow_ups.json")
ENV = "CAREBRIDGE_FOLLOW_UPS"

# Who owns a step: the discharging hospital's case management, the patient's primary care, or the
# facility or agency whose placement the hospital confirmed (the hospital when there is none).
OWNERS = ("hospital", "primary_care", "placed")
# A subset of ISO 8601 durations: whole days and/or hours, enough for follow-up windows.
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(\d+)H)?$")


class FollowUpConfigError(ValueError):
    """The file is not a valid follow-up configuration; the message names the entry."""


@dataclass(frozen=True)
class FollowUp:
    kind: str
    due_after: timedelta
    owner: str
    description: str


def _duration(where: str, value: object) -> timedelta:
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise FollowUpConfigError(f"{where}: due_after {value!r} is not a duration such as PT48H or P7D")
    days, hours = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours)


def _step(kind: str, entry: object) -> FollowUp:
    where = f"steps.{kind}"
    if kind not in HANDOFF_KINDS:
        raise FollowUpConfigError(f"{where}: unknown kind (one of {', '.join(HANDOFF_KINDS)})")
    if not isinstance(entry, dict):
        raise FollowUpConfigError(f"{where}: must be an object with due_after, owner and description")
    if entry.get("owner") not in OWNERS:
        raise FollowUpConfigError(f"{where}: owner {entry.get('owner')!r} is not one of {', '.join(OWNERS)}")
    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        raise FollowUpConfigError(f"{where}: description is missing")
    return FollowUp(kind, _duration(where, entry.get("due_after")), entry["owner"], description.strip())


def parse(document: object) -> dict[str, tuple[FollowUp, ...]]:
    """The follow-ups per disposition; every disposition must be listed (an empty list for none)."""
    if not isinstance(document, dict) or not isinstance(document.get("steps"), dict):
        raise FollowUpConfigError("steps: missing (an object of follow-up kinds)")
    if not isinstance(document.get("dispositions"), dict):
        raise FollowUpConfigError("dispositions: missing (an object of disposition -> list of kinds)")
    steps = {kind: _step(kind, entry) for kind, entry in document["steps"].items()}
    rules: dict[str, tuple[FollowUp, ...]] = {}
    for disposition, kinds in document["dispositions"].items():
        where = f"dispositions.{disposition}"
        if disposition not in DISCHARGE_DISPOSITIONS:
            raise FollowUpConfigError(f"{where}: unknown disposition (one of {', '.join(DISCHARGE_DISPOSITIONS)})")
        if not isinstance(kinds, list):
            raise FollowUpConfigError(f"{where}: must be a list of step kinds")
        for kind in kinds:
            if kind not in steps:
                raise FollowUpConfigError(f"{where}: {kind!r} is not defined in steps")
        rules[disposition] = tuple(steps[kind] for kind in kinds)
    missing = [d for d in DISCHARGE_DISPOSITIONS if d not in rules]
    if missing:
        raise FollowUpConfigError(f"dispositions: {', '.join(missing)} not listed (use [] for no follow-up)")
    return rules


def read(path: Path) -> dict[str, tuple[FollowUp, ...]]:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise FollowUpConfigError(f"{path}: cannot be read as JSON ({error})") from error
    return parse(document)


def source() -> Path:
    return Path(os.environ.get(ENV) or SHIPPED)


@cache
def _cached(path: Path) -> dict[str, tuple[FollowUp, ...]]:
    return read(path)


def rules() -> dict[str, tuple[FollowUp, ...]]:
    """The rules in force, read once per file (a changed `CAREBRIDGE_FOLLOW_UPS` is read anew)."""
    return _cached(source())
