"""Errors of the opening-key ceremony formats."""

from __future__ import annotations


class CeremonyError(ValueError):
    """A ceremony input, bundle, share or key is malformed or does not fit; the message says how."""


class ShareCommitmentMismatch(CeremonyError):
    """A released or decrypted share does not match the commitment the ceremony published."""

    def __init__(self, index: int, commitment: str) -> None:
        super().__init__(
            f"share {index} does not match its published commitment {commitment}: "
            "it was altered, or belongs to another tender or ceremony"
        )
        self.index = index
        self.commitment = commitment
