"""Shamir k-of-n secret sharing of a P-256 private scalar, with share commitments.

The secret ``s`` (``1 <= s < n``, n the order of the P-256 group) is the constant term of a random
polynomial ``f(x) = s + a1 x + ... + a(k-1) x^(k-1)`` over GF(n); the coefficients come from
:mod:`secrets`. Share ``i`` (``1 <= i <= 255``) is ``(i, f(i))``. Any ``k`` shares give ``f(0)`` by
Lagrange interpolation; ``k - 1`` shares are uniformly distributed whatever the secret, so they
reveal nothing about it. The arithmetic is generic over a prime ``modulus`` (the tests use small
fields to check the distribution exhaustively); Python integers are not constant-time, which is
acceptable for a ceremony run once on an offline machine.

Share commitments (SHA-256) let the server check a released share against what the key ceremony
published, before using it::

    commitment = SHA-256( lp(b"sealbid.share-commitment.v1") || lp(UTF-8 tender id)
                          || lp(index as 1 byte) || lp(share value, 32 bytes big-endian)
                          || lp(salt, 32 bytes) )
    lp(x) = len(x) as a 4-byte big-endian unsigned integer || x

The salt is random per share and travels with the share inside its encrypted envelope, so the
published commitment does not allow testing guesses of the share.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "COMMITMENT_TAG",
    "MAX_SHARES",
    "P256_ORDER",
    "SALT_SIZE",
    "SCALAR_SIZE",
    "ShamirError",
    "Share",
    "ShareMismatchError",
    "combine_and_check",
    "combine_shares",
    "commit_share",
    "new_salt",
    "split_secret",
    "verify_share",
]

P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
"""The order n of the NIST P-256 base point (a prime)."""

SCALAR_SIZE: Final = 32
SALT_SIZE: Final = 32
MAX_SHARES: Final = 255
COMMITMENT_TAG: Final = b"sealbid.share-commitment.v1"


class ShamirError(ValueError):
    """Invalid parameters or shares (duplicate or zero index, value out of range, too few shares)."""


class ShareMismatchError(ShamirError):
    """The combined scalar does not match the expected public key: some share is wrong."""


@dataclass(frozen=True, slots=True)
class Share:
    """One share: the evaluation point ``index`` and the value ``f(index)`` mod the field modulus."""

    index: int
    value: int

    def to_bytes(self) -> bytes:
        """33 bytes: the index (1 byte) and the value (32 bytes, big-endian). P-256 shares only."""
        _check_share(self, P256_ORDER)
        return bytes([self.index]) + self.value.to_bytes(SCALAR_SIZE, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Share:
        """Inverse of :meth:`to_bytes` (validated)."""
        if len(data) != 1 + SCALAR_SIZE:
            raise ShamirError(f"a share encoding is {1 + SCALAR_SIZE} bytes, not {len(data)}")
        share = cls(data[0], int.from_bytes(data[1:], "big"))
        _check_share(share, P256_ORDER)
        return share


def _check_modulus(modulus: int) -> None:
    if modulus < 3:
        raise ShamirError("the field modulus must be a prime >= 3")


def _check_share(share: Share, modulus: int) -> None:
    if not isinstance(share.index, int) or not isinstance(share.value, int):
        raise ShamirError("share index and value must be integers")
    if share.index == 0:
        raise ShamirError("share index 0 would be the secret itself")
    if not 0 < share.index <= min(MAX_SHARES, modulus - 1):
        raise ShamirError(f"share index {share.index} outside 1..{min(MAX_SHARES, modulus - 1)}")
    if not 0 <= share.value < modulus:
        raise ShamirError(f"share {share.index}: value outside 0..modulus-1")


def _secret_int(secret: int | bytes, modulus: int) -> int:
    if isinstance(secret, bytes):
        if len(secret) != SCALAR_SIZE:
            raise ShamirError(f"a secret scalar is {SCALAR_SIZE} bytes")
        secret = int.from_bytes(secret, "big")
    if not 1 <= secret < modulus:
        raise ShamirError("the secret must satisfy 1 <= s < modulus")
    return secret


def _evaluate(coefficients: Sequence[int], x: int, modulus: int) -> int:
    acc = 0
    for c in reversed(coefficients):  # Horner
        acc = (acc * x + c) % modulus
    return acc


def _shares_from(coefficients: Sequence[int], n: int, modulus: int) -> list[Share]:
    return [Share(i, _evaluate(coefficients, i, modulus)) for i in range(1, n + 1)]


def split_secret(secret: int | bytes, n: int, k: int, *, modulus: int = P256_ORDER) -> list[Share]:
    """Split ``secret`` into ``n`` shares, any ``k`` of which rebuild it (``2 <= k <= n <= 255``).

    ``secret`` is an integer or 32 big-endian bytes with ``1 <= s < modulus``.
    """
    _check_modulus(modulus)
    value = _secret_int(secret, modulus)
    if not 2 <= k <= n <= MAX_SHARES:
        raise ShamirError(f"need 2 <= k <= n <= {MAX_SHARES}, got k={k}, n={n}")
    if n >= modulus:
        raise ShamirError("n must be smaller than the field modulus")
    coefficients = [value, *(secrets.randbelow(modulus) for _ in range(k - 1))]
    return _shares_from(coefficients, n, modulus)


def combine_shares(
    shares: Sequence[Share], *, modulus: int = P256_ORDER, threshold: int | None = None
) -> int:
    """The secret ``f(0)`` by Lagrange interpolation over the given shares.

    All shares are used; give at least ``k`` (``threshold``, if known, is enforced). Wrong shares give
    a wrong result, not an error: check it with :func:`combine_and_check` or the commitments.
    """
    _check_modulus(modulus)
    if len(shares) < max(2, threshold or 2):
        raise ShamirError(f"need at least {max(2, threshold or 2)} shares, got {len(shares)}")
    seen: set[int] = set()
    for share in shares:
        _check_share(share, modulus)
        if share.index in seen:
            raise ShamirError(f"duplicate share index {share.index}")
        seen.add(share.index)
    secret = 0
    for i, share in enumerate(shares):
        numerator = denominator = 1
        for j, other in enumerate(shares):
            if i != j:
                numerator = numerator * other.index % modulus
                denominator = denominator * (other.index - share.index) % modulus
        secret = (secret + share.value * numerator * pow(denominator, -1, modulus)) % modulus
    return secret


def combine_and_check(
    shares: Sequence[Share], expected_public_key: ec.EllipticCurvePublicKey
) -> ec.EllipticCurvePrivateKey:
    """Rebuild the P-256 private key and insist that it matches ``expected_public_key``.

    Raises :class:`ShareMismatchError` if it does not (a corrupted or foreign share).
    """
    if not isinstance(expected_public_key.curve, ec.SECP256R1):
        raise ShamirError("the expected public key is not a P-256 key")
    secret = combine_shares(shares)
    if secret == 0:
        raise ShareMismatchError("the shares combine to zero: some share is wrong")
    key = ec.derive_private_key(secret, ec.SECP256R1())
    if key.public_key() != expected_public_key:
        raise ShareMismatchError(
            "the combined key does not match the opening certificate: some share is wrong"
        )
    return key


def new_salt() -> bytes:
    """A fresh 32-byte commitment salt."""
    return secrets.token_bytes(SALT_SIZE)


def _lp(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def commit_share(tender_id: str, share: Share, salt: bytes) -> bytes:
    """The 32-byte commitment to a P-256 ``share`` for ``tender_id`` with a 32-byte ``salt``."""
    _check_share(share, P256_ORDER)
    if len(salt) != SALT_SIZE:
        raise ShamirError(f"the salt must be {SALT_SIZE} bytes")
    if not tender_id:
        raise ShamirError("the tender id must not be empty")
    message = b"".join(
        (
            _lp(COMMITMENT_TAG),
            _lp(tender_id.encode("utf-8")),
            _lp(bytes([share.index])),
            _lp(share.value.to_bytes(SCALAR_SIZE, "big")),
            _lp(salt),
        )
    )
    return hashlib.sha256(message).digest()


def verify_share(commitment: bytes, tender_id: str, share: Share, salt: bytes) -> bool:
    """Whether ``share`` with ``salt`` is the one committed to for ``tender_id`` (constant-time compare).

    Malformed shares or salts are simply not the committed share (``False``).
    """
    try:
        expected = commit_share(tender_id, share, salt)
    except ShamirError:
        return False
    return hmac.compare_digest(expected, commitment)
