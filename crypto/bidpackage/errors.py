"""Errors of the bid package: every problem has a stable ``code`` and a plain message.

A :class:`PackageError` is a ``ValueError``; the reader raises nothing else for bad input, whatever
the bytes. ``code`` values are part of the format (``docs/bid-format.md``) and never change meaning.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CODES", "BidSealError", "PackageError"]

CODES: Final = frozenset(
    {
        "package-not-zip",  # not a ZIP archive, truncated, or a broken central directory
        "package-too-large",  # a limit on entries, sizes, ratio or names was exceeded
        "package-unsupported",  # encryption, an unknown compression method, multi-disk archives
        "package-unsafe-name",  # absolute path, "..", backslash, control character, duplicate ...
        "package-manifest-missing",  # no manifest.json
        "package-manifest-invalid",  # not JSON, wrong shape, unknown fields, bad values
        "package-manifest-not-canonical",  # valid JSON but not the RFC 8785 bytes
        "package-price-invalid",  # a price that is not a plain decimal string, bad currency ...
        "package-file-missing",  # listed in the manifest, absent from the archive
        "package-file-extra",  # in the archive, not listed in the manifest
        "package-file-mismatch",  # size or SHA-256 differs from the manifest (or CRC broken)
        "package-input-invalid",  # building: a source file or argument cannot be used
    }
)


class PackageError(ValueError):
    """The bid package (or the input to build one) is not acceptable; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown package error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class BidSealError(ValueError):
    """Sealing was refused before anything was written: the inputs do not belong together."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message
