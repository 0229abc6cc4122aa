"""One error family for sealbid.

Every failure that a caller can act on is a :class:`SealbidError` with a stable machine-readable
``code``. The API maps them to RFC 9457 ``application/problem+json`` in one handler; domain code never
speaks HTTP, it only picks the subclass whose meaning fits.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SealbidError(Exception):
    """Base of every error sealbid raises on purpose."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Render as an RFC 9457 problem object (without HTTP framing)."""
        problem: dict[str, Any] = {
            "type": f"https://sealbid.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            problem["instance"] = instance
        problem.update(self.extra)
        return problem


class InvalidInput(SealbidError):
    """The request is malformed or violates a rule about its content."""

    status = 400
    default_code = "invalid-input"
    title = "Invalid input"


class Unauthorized(SealbidError):
    """No valid credentials were presented."""

    status = 401
    default_code = "unauthorized"
    title = "Authentication required"


class Forbidden(SealbidError):
    """The caller is known but may not do this."""

    status = 403
    default_code = "forbidden"
    title = "Forbidden"


class NotFound(SealbidError):
    """The thing asked for does not exist (or may not be seen by the caller)."""

    status = 404
    default_code = "not-found"
    title = "Not found"


class Conflict(SealbidError):
    """The request conflicts with the current state (an illegal transition, a duplicate)."""

    status = 409
    default_code = "conflict"
    title = "Conflict"


class TooLate(SealbidError):
    """A deadline has passed (a bid after the deadline, a used or expired challenge)."""

    status = 409
    default_code = "too-late"
    title = "Too late"


class Unavailable(SealbidError):
    """A dependency (database, broker, revocation source) cannot be reached."""

    status = 503
    default_code = "unavailable"
    title = "Service unavailable"
