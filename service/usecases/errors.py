"""Errors use cases raise; the REST API and the FHIR API turn them into 404/409/422 answers."""

from __future__ import annotations


class UseCaseError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(UseCaseError):
    status = 404
    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident} does not exist", details={"type": kind, "id": ident})


class Invalid(UseCaseError):
    """Input that is well-formed but breaks a domain rule (422), with the offending fields."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, details={"fields": fields or {}})


class TooLarge(UseCaseError):
    """A body or file beyond a documented size limit (413)."""

    status = 413
    code = "too_large"


class UnsupportedType(UseCaseError):
    """Content of a kind carebridge does not take (415)."""

    status = 415
    code = "unsupported_media_type"


class ConflictError(UseCaseError):
    status = 409
    code = "conflict"


class IllegalTransition(ConflictError):
    code = "illegal_transition"

    def __init__(self, current: str, target: str, allowed: frozenset[str]) -> None:
        allowed_text = ", ".join(sorted(allowed)) if allowed else "none (the handoff is closed)"
        super().__init__(
            f"A handoff in status '{current}' cannot move to '{target}'. Allowed next states: {allowed_text}.",
            details={"current": current, "requested": target, "allowed": sorted(allowed)},
        )


class VersionMismatch(ConflictError):
    code = "version_mismatch"

    def __init__(self, kind: str, ident: str, expected: int, actual: int) -> None:
        super().__init__(
            f"{kind} {ident} was changed by someone else (you had version {expected}, it is now {actual}); "
            "reload it and apply your change again.",
            details={"expected": expected, "actual": actual},
        )


class TooManyAttempts(UseCaseError):
    """Refused until `retry_after` seconds have passed (answered as 429 with Retry-After)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class Unauthenticated(UseCaseError):
    """No principal, or credentials carebridge refuses (401 with a `WWW-Authenticate: Bearer` challenge).

    `error` is the RFC 6750 §3.1 code (`invalid_token` when a token was sent but is unusable)."""

    status = 401
    code = "unauthenticated"

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


class Forbidden(UseCaseError):
    """The principal is known but may not do this (403): a scope its token or role lacks, a record
    of its organisation's it may read but not change, a move the other side owns, a bad CSRF token."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str, *, insufficient_scope: bool = False) -> None:
        super().__init__(message)
        self.insufficient_scope = insufficient_scope
