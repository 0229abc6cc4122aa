"""A custodian's share: decrypt it, check it against its commitment, and rebuild the opening key.

Used by ``sealbid custodian show-share`` (right after the ceremony) and by the share release at
the opening (issue 5), where the server checks each released share against the commitment it
registered and rebuilds the key from any k of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from crypto.ceremony.errors import CeremonyError, ShareCommitmentMismatch
from crypto.ceremony.formats import SharePlaintext, sha256_hex
from crypto.cms import CmsError, DecryptionKey, open_envelope_bytes
from crypto.shamir import ShamirError, ShareMismatchError, combine_and_check, verify_share

__all__ = ["check_share", "open_share", "rebuild_opening_key"]


def open_share(
    encrypted_share: bytes,
    certificate: x509.Certificate,
    private_key: DecryptionKey,
    *,
    tender_id: str,
    index: int,
    opening_certificate_sha256: str | None = None,
) -> SharePlaintext:
    """Decrypt a custodian's share and check it is share ``index`` of ``tender_id``'s opening key.

    The share's ``share`` (a :class:`crypto.shamir.Share`) and ``salt`` are what
    :func:`check_share` compares with the published commitment.
    """
    try:
        plaintext, _ = open_envelope_bytes(encrypted_share, certificate, private_key)
    except CmsError as exc:
        raise CeremonyError(f"cannot decrypt share {index} with this certificate and key: {exc}") from None
    share = SharePlaintext.from_bytes(plaintext)
    if share.tender != tender_id:
        raise CeremonyError(f"the share is for tender {share.tender}, not {tender_id}")
    if share.index != index:
        raise CeremonyError(f"the envelope holds share {share.index}, not share {index}")
    if opening_certificate_sha256 is not None and share.opening_certificate_sha256 != (
        opening_certificate_sha256
    ):
        raise CeremonyError("the share belongs to another opening certificate than this tender's")
    return share


def check_share(share: SharePlaintext, commitment: str) -> None:
    """Return if ``share`` (with its salt) is the one committed to; :class:`ShareCommitmentMismatch`."""
    try:
        expected = bytes.fromhex(commitment)
    except ValueError:
        raise ShareCommitmentMismatch(share.index, commitment) from None
    if not verify_share(expected, share.tender, share.share, share.salt):
        raise ShareCommitmentMismatch(share.index, commitment)


def rebuild_opening_key(
    shares: Sequence[SharePlaintext],
    opening_certificate: x509.Certificate,
    *,
    commitments: Mapping[int, str] | None = None,
) -> ec.EllipticCurvePrivateKey:
    """The opening private key from at least k shares, checked against the opening certificate.

    With ``commitments`` (index -> hex, from the bundle or the server), every share is checked
    first, so a tampered share is named by index and commitment instead of just spoiling the key.
    All shares must be of the same tender, opening certificate and threshold.
    """
    if not shares:
        raise CeremonyError("no shares given")
    first = shares[0]
    certificate_sha256 = sha256_hex(opening_certificate.public_bytes(Encoding.DER))
    for share in shares:
        if (share.tender, share.threshold) != (first.tender, first.threshold):
            raise CeremonyError(f"share {share.index} belongs to another tender or threshold")
        if share.opening_certificate_sha256 != certificate_sha256:
            raise CeremonyError(f"share {share.index} belongs to another opening certificate")
        if commitments is not None:
            if share.index not in commitments:
                raise CeremonyError(f"no commitment is known for share {share.index}")
            check_share(share, commitments[share.index])
    if len({s.index for s in shares}) != len(shares):
        raise CeremonyError("the same share index is given twice")
    if len(shares) < first.threshold:
        raise CeremonyError(f"{first.threshold} shares are needed to rebuild the key, got {len(shares)}")
    public_key = opening_certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise CeremonyError("the opening certificate's key is not an EC key")
    try:
        return combine_and_check([s.share for s in shares], public_key)
    except ShareMismatchError:
        raise CeremonyError(
            "the shares do not rebuild the key of the opening certificate: some share is wrong"
        ) from None
    except ShamirError as exc:
        raise CeremonyError(f"the shares cannot be combined: {exc}") from None
