"""Private keys encrypted at rest: the `SealedJSON` column type (Fernet, AES-128-CBC + HMAC-SHA256).

carebridge's token-signing keys, its EHR-launch client keys and its clinicians' EHR tokens sit in
the database; a database dump or backup alone must not hand them out. Values are stored as
`{"fernet": "<token>"}` under the key-encryption key from `CAREBRIDGE_KEY_ENCRYPTION_KEY`: one or
more Fernet keys separated by commas; the first encrypts, every one decrypts (MultiFernet), so a
key is rotated by putting the new one first and running `carebridge keys reencrypt`.

Without the variable a public development key is used and a warning is logged, as with SECRET_KEY.
Values written under the development key stay readable after a real key is set (then run
`carebridge keys reencrypt`). A JWK stored before encryption at rest (plain JSON) is read as it is,
so existing keys keep working; `carebridge keys reencrypt` seals them.
https://cryptography.io/en/latest/fernet/
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import os
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

ENV = "CAREBRIDGE_KEY_ENCRYPTION_KEY"
# Public by construction: it only keeps keys out of casual view on a developer's machine.
DEV_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"carebridge development key-encryption key").digest())
_log = logging.getLogger(__name__)


class SealError(RuntimeError):
    """The key-encryption key is malformed, or is not the one a value was sealed with."""


@functools.cache
def keyring() -> MultiFernet:
    configured = [k.strip() for k in os.environ.get(ENV, "").split(",") if k.strip()]
    if not configured:
        _log.warning("%s is not set: private keys are encrypted under the public development key", ENV)
    try:
        keys = [Fernet(k) for k in configured]
    except ValueError:
        raise SealError(
            f"{ENV} must hold Fernet keys (32 url-safe base64 bytes), separated by commas; make one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None
    return MultiFernet([*keys, Fernet(DEV_KEY)])


def seal(value: Any) -> dict[str, str]:
    return {"fernet": keyring().encrypt(orjson.dumps(value)).decode()}


def unseal(stored: Any) -> Any:
    if not (isinstance(stored, dict) and set(stored) == {"fernet"}):
        return stored  # written before encryption at rest: read as it is
    try:
        return orjson.loads(keyring().decrypt(stored["fernet"].encode()))
    except InvalidToken:
        raise SealError(f"a stored private key cannot be decrypted: {ENV} lacks the key it was sealed with") from None


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose value is encrypted in the database (JSONB on PostgreSQL, like JSONType)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else seal(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else unseal(value)
