"""Running the ceremony on the lead custodian's machine, and checking its signed bundle.

:func:`run_ceremony` makes the P-256 opening key and its certificate, splits the private scalar
k-of-n (:mod:`crypto.shamir`), seals each share with its salt to its custodian's encryption
certificate, commits to each share, and signs the bundle; the opening key is never written anywhere.

**On erasing the key.** Python cannot reliably zeroise memory: integers are immutable and may be
copied by the interpreter, and freed memory is not cleared. What this module does: the key lives in
one OpenSSL object (freed, and its scalar cleared by OpenSSL, when the last reference goes), the
scalar and the polynomial values exist only as local Python integers, every reference is dropped
(``del``) before the bundle is signed, and nothing secret is logged, returned, or kept in a
``repr``. The residual risk is the process memory until it is reused; run the ceremony on a
trusted machine and let the process end (the CLI does) — the protocol's known limit is that the lead
custodian is trusted during the ceremony (``docs/ceremony.md``).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from crypto.ceremony.certificate import check_opening_certificate, make_opening_certificate
from crypto.ceremony.errors import CeremonyError
from crypto.ceremony.formats import (
    MIN_THRESHOLD,
    BundleShare,
    OpeningKeyBundle,
    SharePlaintext,
    parse_bundle,
    sha256_hex,
)
from crypto.cms import CertificateCheck, CmsError, SignatureVerdict, Signer, seal_bytes, sign_detached
from crypto.cms import verify_signed as cms_verify_signed
from crypto.shamir import MAX_SHARES, ShamirError, combine_and_check, commit_share, new_salt, split_secret

__all__ = [
    "CeremonyOutput",
    "CustodianRecipient",
    "VerifiedBundle",
    "run_ceremony",
    "verify_bundle",
]


@dataclass(frozen=True)
class CustodianRecipient:
    """A custodian as the ceremony needs it: share index, identity id, encryption certificate."""

    index: int
    custodian: str
    encryption_certificate: x509.Certificate

    @property
    def certificate_sha256(self) -> str:
        """SHA-256 (hex) of the encryption certificate's DER."""
        return sha256_hex(self.encryption_certificate.public_bytes(Encoding.DER))


class CeremonyOutput(NamedTuple):
    """The signed bundle: canonical JSON bytes and the detached CMS SignedData over them."""

    bundle: bytes
    signature: bytes


def _check_recipients(custodians: Sequence[CustodianRecipient], threshold: int) -> None:
    n = len(custodians)
    if not MIN_THRESHOLD <= threshold <= n <= MAX_SHARES:
        raise CeremonyError(
            f"need {MIN_THRESHOLD} <= k <= n <= {MAX_SHARES}, got k={threshold} with n={n} custodians"
        )
    if [c.index for c in custodians] != list(range(1, n + 1)):
        raise CeremonyError("custodians must be given in share-index order 1..n")
    if len({c.custodian for c in custodians}) != n:
        raise CeremonyError("a custodian is listed twice")
    if len({c.certificate_sha256 for c in custodians}) != n:
        raise CeremonyError("two custodians have the same encryption certificate")


def run_ceremony(
    *,
    tender_id: str,
    threshold: int,
    custodians: Sequence[CustodianRecipient],
    lead: Signer,
    not_before: datetime,
    not_after: datetime,
    now: datetime,
) -> CeremonyOutput:
    """Make, split, seal and commit the opening key of ``tender_id``; the signed bundle.

    ``custodians`` in share-index order (share i goes to custodian i). The opening certificate is
    valid ``not_before..not_after``. Before signing, the shares are checked to rebuild the key
    (any failure there is a bug, never silently ignored). The key itself is not returned.
    """
    _check_recipients(custodians, threshold)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = make_opening_certificate(key, tender_id, not_before=not_before, not_after=not_after)
    certificate_der = certificate.public_bytes(Encoding.DER)
    certificate_sha256 = sha256_hex(certificate_der)
    public_key = key.public_key()
    scalar = key.private_numbers().private_value
    del key
    shares = split_secret(scalar, len(custodians), threshold)
    del scalar
    try:
        combine_and_check(shares[:threshold], public_key)
        combine_and_check(shares[-threshold:], public_key)
    except ShamirError as exc:  # pragma: no cover - would be a bug in crypto.shamir
        raise CeremonyError(f"the split key does not rebuild: {exc}") from None
    entries: list[BundleShare] = []
    for custodian, share in zip(custodians, shares, strict=True):
        salt = new_salt()
        plaintext = SharePlaintext(
            tender=tender_id,
            index=share.index,
            threshold=threshold,
            value=share.value,
            salt=salt,
            opening_certificate_sha256=certificate_sha256,
        )
        try:
            envelope = seal_bytes(plaintext.to_bytes(), [custodian.encryption_certificate])
        except CmsError as exc:
            raise CeremonyError(
                f"cannot encrypt share {custodian.index} to custodian {custodian.custodian}: {exc}"
            ) from None
        entries.append(
            BundleShare(
                index=share.index,
                custodian=custodian.custodian,
                custodian_certificate_sha256=custodian.certificate_sha256,
                encrypted_share=envelope,
                commitment=commit_share(tender_id, share, salt).hex(),
            )
        )
        del plaintext, salt
    del shares
    gc.collect()
    bundle = OpeningKeyBundle(
        tender=tender_id,
        threshold=threshold,
        share_count=len(custodians),
        opening_certificate=certificate,
        opening_certificate_der=certificate_der,
        opening_certificate_sha256=certificate_sha256,
        shares=tuple(entries),
        created=now,
        lead_custodian_certificate_sha256=sha256_hex(lead.certificate.public_bytes(Encoding.DER)),
    )
    data = bundle.to_bytes()
    return CeremonyOutput(data, sign_detached(data, lead, signing_time=now))


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose structure, opening certificate and lead-custodian signature check out."""

    bundle: OpeningKeyBundle
    signature: SignatureVerdict
    signer_certificate: x509.Certificate
    opening_public_key: ec.EllipticCurvePublicKey


def verify_bundle(
    data: bytes,
    signature: bytes,
    *,
    tender_id: str | None = None,
    check_certificate: CertificateCheck | None = None,
    valid_at: datetime | None = None,
    valid_until: datetime | None = None,
) -> VerifiedBundle:
    """Parse ``data``, check the opening certificate and the detached ``signature``; or CeremonyError.

    The signature must be intact, made by the certificate the bundle names as the lead custodian's,
    and (with ``check_certificate``, e.g. a PKI validation) trusted. ``tender_id``, ``valid_at`` and
    ``valid_until`` are checked against the bundle and its opening certificate when given.
    """
    bundle = parse_bundle(data)
    if tender_id is not None and bundle.tender != tender_id:
        raise CeremonyError(f"the bundle is for tender {bundle.tender}, not {tender_id}")
    public_key = check_opening_certificate(
        bundle.opening_certificate, bundle.tender, valid_at=valid_at, valid_until=valid_until
    )
    try:
        verdict = cms_verify_signed(signature, detached_content=data, check_certificate=check_certificate)
    except CmsError as exc:
        raise CeremonyError(f"the bundle signature is not a valid CMS SignedData ({exc})") from None
    if not verdict.intact or verdict.signer_certificate is None:
        raise CeremonyError(
            "the bundle signature does not verify: " + ("; ".join(verdict.reasons) or "no signer")
        )
    signer = verdict.signer_certificate
    if sha256_hex(signer.public_bytes(Encoding.DER)) != bundle.lead_custodian_certificate_sha256:
        raise CeremonyError("the bundle is signed by another certificate than the lead custodian it names")
    if not verdict.ok:
        raise CeremonyError("the bundle signature is not trusted: " + "; ".join(verdict.reasons))
    return VerifiedBundle(bundle, verdict, signer, public_key)
