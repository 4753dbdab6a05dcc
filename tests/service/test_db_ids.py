"""Record ids are random version 4 UUIDs in their canonical text form (RFC 9562 section 5.4)."""

from __future__ import annotations

import uuid

import pytest

from service import db


@pytest.mark.parametrize(
    ("random_bytes", "expected"),
    [
        (bytes(range(16)), "00010203-0405-4607-8809-0a0b0c0d0e0f"),
        (b"\xff" * 16, "ffffffff-ffff-4fff-bfff-ffffffffffff"),
        (b"\x00" * 16, "00000000-0000-4000-8000-000000000000"),
    ],
)
def test_the_version_and_variant_bits_are_set_over_the_random_bytes(
    monkeypatch: pytest.MonkeyPatch, random_bytes: bytes, expected: str
) -> None:
    monkeypatch.setattr(db.os, "urandom", lambda n: random_bytes[:n])
    assert db.new_id() == expected


def test_ids_are_canonical_version_4_uuids() -> None:
    ids = [db.new_id() for _ in range(1000)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(str(u) == i for u, i in zip(parsed, ids, strict=True))
    assert {u.version for u in parsed} == {4}
    assert {u.variant for u in parsed} == {uuid.RFC_4122}
    assert len(set(ids)) == len(ids)
