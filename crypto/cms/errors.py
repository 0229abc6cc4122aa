"""The error family of :mod:`crypto.cms`.

Every problem with the *input* (a malformed, truncated, oversized or unsupported structure, a key that
does not fit) raises a :class:`CmsError`, which is a ``ValueError``. Verification outcomes are never
exceptions: :mod:`crypto.cms.verify` returns verdicts. Opening an envelope either returns (the output
is then complete and authentic) or raises :class:`DecryptionError`.
"""

from __future__ import annotations

__all__ = [
    "ASN1_PARSE_ERRORS",
    "CmsError",
    "DecryptionError",
    "LimitExceeded",
    "MalformedCms",
    "NotARecipient",
    "TimestampError",
    "UnsupportedCms",
]


class CmsError(ValueError):
    """Base class: the CMS input or the request cannot be processed."""


class MalformedCms(CmsError):
    """The bytes are not the expected BER/DER structure (truncated, bad tag, bad length, bad field)."""


class LimitExceeded(MalformedCms):
    """A declared length, the total size or the nesting depth exceeds the configured limit."""


class UnsupportedCms(CmsError):
    """Well-formed, but uses an algorithm, version or option this module does not implement."""


class NotARecipient(CmsError):
    """The envelope has no RecipientInfo for the given certificate."""


class DecryptionError(CmsError):
    """The content-encryption key could not be recovered or the authentication tag did not verify.

    Any output already written must be discarded.
    """


class TimestampError(CmsError):
    """The time-stamping authority did not return a usable token."""


ASN1_PARSE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    RecursionError,
    NotImplementedError,
)
"""What asn1crypto (which parses lazily) may raise on hostile input; always wrapped into a CmsError."""
