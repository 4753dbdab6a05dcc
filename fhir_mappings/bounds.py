"""Bounds on JSON that comes from outside: how deep it nests and which characters its strings hold.

One walk, without recursion, so a hostile document cannot exhaust Python's stack before anything
else looks at it. The FHIR API, the REST API, the CLI's validators and the sync pull all use it.

- Depth: real FHIR resources nest a few dozen levels at most (an extension on an element of a
  backbone of a contained resource of a Bundle entry); `MAX_DEPTH` leaves room for that and stays
  far below the recursion that pydantic, `==` on dicts and the mappers do.
- Sizes (optional, for callers without a body-size limit in front, such as the sync pull): the
  longest string and the longest array or object.
- Characters: "Strings SHOULD not contain Unicode character points below 32, except for u0009
  (horizontal tab), u0010 (carriage return) and u0013 (line feed)"
  (https://hl7.org/fhir/R4/datatypes.html#string). PostgreSQL cannot store U+0000 in text or
  jsonb at all, so such a string is refused at the door, in keys as in values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Refusal:
    """Why a JSON document is refused, and where: `kind` is "depth", "size" or "control-character"."""

    kind: str
    path: Path
    message: str


def check_json(
    value: Any, max_depth: int = MAX_DEPTH, *, max_string: int | None = None, max_items: int | None = None
) -> Refusal | None:
    """The first bound `value` (parsed JSON) breaks, or None. Objects and arrays count one level each;
    `max_string` bounds every string's length, `max_items` every array's and object's."""
    if _within(value, max_depth, max_string or -1, max_items or -1):
        return None  # the common case, answered without building a path for every node
    stack: list[tuple[Any, Path]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if max_string is not None and len(node) > max_string:
                return Refusal("size", path, f"longer than {max_string} characters ({len(node)})")
            found = _CONTROL.search(node)
            if found:
                return _control(path, found.group())
        elif isinstance(node, dict | list):
            if len(path) >= max_depth:
                return Refusal("depth", path, f"JSON nested deeper than {max_depth} levels")
            if max_items is not None and len(node) > max_items:
                return Refusal("size", path, f"more than {max_items} items ({len(node)})")
            if isinstance(node, dict):
                for key, item in node.items():
                    found = _CONTROL.search(key)
                    if found:
                        return _control((*path, key), found.group())
                    stack.append((item, (*path, key)))
            else:
                stack.extend((item, (*path, index)) for index, item in enumerate(node))
    return None


def _within(value: Any, max_depth: int, max_string: int, max_items: int) -> bool:
    """True when `value` keeps every bound (-1: no size bound); no paths, nothing allocated but the stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push, control = stack.pop, stack.append, _CONTROL.search
    while stack:
        node, depth = pop()
        kind = type(node)
        if kind is str:
            # A printable string holds no control character (they are all Unicode "Other"), and
            # str.isprintable is several times cheaper than the search: most strings are.
            if (max_string >= 0 and len(node) > max_string) or (not node.isprintable() and control(node)):
                return False
        elif kind is dict or kind is list:
            if depth >= max_depth or (max_items >= 0 and len(node) > max_items):
                return False
            if kind is dict:
                for key, item in node.items():
                    if not key.isprintable() and control(key):
                        return False
                    push((item, depth + 1))
            else:
                for item in node:
                    push((item, depth + 1))
        elif isinstance(node, str | dict | list):  # subclasses: let the full walk decide
            return False
    return True


def _control(path: Path, char: str) -> Refusal:
    return Refusal(
        "control-character",
        path,
        f"contains the control character U+{ord(char):04X}; text may hold tab, line feed and carriage return only",
    )

