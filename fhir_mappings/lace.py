"""The LACE index, a discharge-risk assessment planners use: the `lace-index` instrument's
answers -> a score, with length of stay taken from the stay.

Scoring from van Walraven C et al., CMAJ 2010;182(6):551-557 (https://doi.org/10.1503/cmaj.091117),
table 3: L (length of stay, days) <1: 0, 1: 1, 2: 2, 3: 3, 4-6: 4, 7-13: 5, >=14: 7;
A (acute admission) 3; C (Charlson comorbidity index) 0-3: as is, >=4: 5;
E (emergency visits in the previous 6 months) 0-3: as is, >=4: 4. A total of 10 or more is high risk.
"""

from __future__ import annotations

import datetime as dt

from .codec import MappingError
from .domain import AnswerValue, ScreeningData, ScreeningItem, StayData

HIGH_RISK = 10
_ITEMS = ("length-of-stay", "acute-admission", "charlson-index", "ed-visits-6m")


def length_of_stay_item(stay: StayData, as_of: dt.datetime) -> ScreeningItem:
    """The length-of-stay answer a LACE form starts with: whole days from admission to discharge,
    or to `as_of` for a stay still open."""
    if stay.admitted_at is None:
        raise MappingError("the stay has no admission time")
    end = stay.discharged_at or as_of
    return ScreeningItem(link_id="length-of-stay", answers=((end - stay.admitted_at).days,))


def _points_for_length_of_stay(days: int) -> int:
    if days < 4:
        return days
    if days <= 6:
        return 4
    return 5 if days <= 13 else 7


def _count(answers: dict[str, AnswerValue], link_id: str) -> int:
    value = answers[link_id]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MappingError(f"LACE item {link_id} wants a whole number")
    return value


def lace_score(screening: ScreeningData) -> int:
    """The LACE total; MappingError when an item is unanswered or of the wrong kind."""
    answers = {item.link_id: item.answers[0] for item in screening.items if item.answers}
    missing = [link for link in _ITEMS if link not in answers]
    if missing:
        raise MappingError(f"LACE items unanswered: {', '.join(missing)}")
    acute = answers["acute-admission"]
    if not isinstance(acute, bool):
        raise MappingError("LACE item acute-admission wants yes or no")
    charlson = _count(answers, "charlson-index")
    return (
        _points_for_length_of_stay(_count(answers, "length-of-stay"))
        + (3 if acute else 0)
        + (charlson if charlson < 4 else 5)
        + min(_count(answers, "ed-visits-6m"), 4)
    )
