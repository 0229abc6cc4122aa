"""Sealing a bid on the bidder's machine: package -> SignedData -> [bidder layer] -> opening layer.

Layer 2 is an attached CMS SignedData by the bidder's signing certificate (content type, message
digest, signing time, ESS signing-certificate-v2; optionally an RFC 3161 signature time-stamp,
CAdES-T). The optional middle layer (Measures Art. 30: the tender asks bidders to decrypt their own
bids at the opening) is an AuthEnvelopedData to the bidder's own encryption certificate. Layer 3 is an
AuthEnvelopedData (AES-256-GCM, ECDH P-256) to the tender's opening certificate. Intermediate layers
are spooled to temporary files, so memory stays bounded whatever the package size (disk: about twice
the package size while sealing).
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from crypto.bidpackage.errors import BidSealError
from crypto.bidpackage.manifest import Manifest
from crypto.bidpackage.reader import PackageLimits, verify_package
from crypto.ceremony.certificate import tender_uri
from crypto.cms import RecipientId, Signer, TimeStamper, seal, sign_attached_to
from crypto.identity import IdentityError, identify

__all__ = [
    "SealedBid",
    "certificate_uscc",
    "check_bidder_certificates",
    "check_opening_certificate_for",
    "seal_bid",
    "tender_uri",
]


@dataclass(frozen=True)
class SealedBid:
    """What :func:`seal_bid` wrote."""

    envelope_size: int
    envelope_sha256: str
    signed_size: int
    bidder_layer: bool
    timestamped: bool
    manifest: Manifest
    recipients: tuple[RecipientId, ...]


class _HashingSink:
    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self._sink.write(data)
        return len(data)


def certificate_uscc(certificate: x509.Certificate) -> str | None:
    """The USCC of the enterprise a certificate speaks for, or ``None`` (a person, or no identity)."""
    try:
        return identify(certificate).uscc
    except IdentityError:
        return None


def check_opening_certificate_for(certificate: x509.Certificate, tender_id: str) -> None:
    """Refuse an opening certificate that cannot be right for ``tender_id`` (:class:`BidSealError`).

    Its key must be P-256 (ECDH), and if its subjectAltName names a tender, that tender must be this
    one. Its validity period is not checked here: it is the server's clock that decides whether a bid
    is in time, and the bidder's clock may be wrong (the bidder tool warns instead).
    """
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise BidSealError("opening-certificate-invalid", "the opening certificate does not hold a P-256 key")
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return
    uris = [u for u in names.get_values_for_type(x509.UniformResourceIdentifier) if u.startswith("urn:")]
    tender_uris = [u for u in uris if u.startswith(("urn:uuid:", "urn:sealbid:tender:"))]
    if tender_uris and tender_uri(tender_id) not in tender_uris:
        raise BidSealError(
            "opening-certificate-other-tender",
            f"the opening certificate is for {', '.join(tender_uris)}, not for tender {tender_id}",
        )


def _usage(certificate: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _check_validity(certificate: x509.Certificate, what: str, moment: datetime) -> None:
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if not start <= moment <= end:
        raise BidSealError(
            "certificate-not-valid",
            f"the {what} is valid only from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC; "
            "a bid sealed with it would be rejected at the opening",
        )


def check_bidder_certificates(
    signing: x509.Certificate,
    encryption: x509.Certificate | None,
    bidder_uscc: str,
    *,
    at: datetime | None = None,
) -> None:
    """Refuse certificates that would make the bid fail at the opening (:class:`BidSealError`).

    The signing certificate must be valid ``at`` (default now) and allow digitalSignature or
    nonRepudiation; a bidder-layer certificate must be valid, allow key agreement or key
    encipherment and belong to the same organisation (only the bidder can then decrypt it).
    """
    moment = at or datetime.now(UTC)
    _check_validity(signing, "signing certificate", moment)
    usage = _usage(signing)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise BidSealError(
            "not-a-signing-certificate",
            "this certificate is not for signing (is it the encryption half of your pair?); "
            "sign with your signing certificate",
        )
    if encryption is None:
        return
    _check_validity(encryption, "encryption certificate", moment)
    usage = _usage(encryption)
    if usage is not None and not (usage.key_agreement or usage.key_encipherment):
        raise BidSealError(
            "not-an-encryption-certificate",
            "the bidder-layer certificate is not for encryption; use your encryption certificate",
        )
    owner = certificate_uscc(encryption)
    if owner != bidder_uscc:
        raise BidSealError(
            "bidder-layer-not-own",
            f"the bidder-layer certificate belongs to {owner or 'no enterprise'}, not to {bidder_uscc}: "
            "only your own encryption certificate lets you decrypt your bid at the opening",
        )


def _seekable(source: BinaryIO | Path, stack: contextlib.ExitStack) -> BinaryIO:
    return stack.enter_context(source.open("rb")) if isinstance(source, Path) else source


def seal_bid(
    package: BinaryIO | Path,
    sink: BinaryIO,
    signer: Signer,
    *,
    opening_certificate: x509.Certificate,
    bidder_encryption_certificate: x509.Certificate | None = None,
    timestamper: TimeStamper | None = None,
    signing_time: datetime | None = None,
    package_limits: PackageLimits | None = None,
    workdir: Path | None = None,
    chunk_size: int = 1 << 20,
) -> SealedBid:
    """Verify the package, sign it, optionally seal it to the bidder, seal it to the opening certificate.

    Refuses (before writing anything) a package that does not verify (:class:`PackageError`), a
    signing certificate whose USCC is not the manifest's ``bidder_uscc``, and an opening certificate
    for another tender (:class:`BidSealError`). ``sink`` receives the envelope; it is complete only
    when this returns.
    """
    with contextlib.ExitStack() as stack:
        source = _seekable(package, stack)
        start = source.tell()
        manifest = verify_package(source, limits=package_limits)
        uscc = certificate_uscc(signer.certificate)
        if uscc != manifest.bidder_uscc:
            raise BidSealError(
                "bidder-mismatch",
                f"the package is for bidder {manifest.bidder_uscc} but the signing certificate is "
                f"{'for ' + uscc if uscc else 'not an enterprise certificate'}",
            )
        check_bidder_certificates(
            signer.certificate, bidder_encryption_certificate, manifest.bidder_uscc, at=signing_time
        )
        check_opening_certificate_for(opening_certificate, manifest.tender_id)
        source.seek(start)
        signed = stack.enter_context(tempfile.TemporaryFile(dir=workdir))
        signed_size = sign_attached_to(
            source,
            signed,
            signer,
            signing_time=signing_time,
            timestamper=timestamper,
            chunk_size=chunk_size,
        )
        inner: BinaryIO = signed
        inner_size = signed_size
        signed.seek(0)
        if bidder_encryption_certificate is not None:
            middle = stack.enter_context(tempfile.TemporaryFile(dir=workdir))
            inner_size = seal(
                signed,
                middle,
                [bidder_encryption_certificate],
                content_size=signed_size,
                chunk_size=chunk_size,
            ).envelope_size
            middle.seek(0)
            inner = middle
        out = _HashingSink(sink)
        result = seal(inner, out, [opening_certificate], content_size=inner_size, chunk_size=chunk_size)  # type: ignore[arg-type]
    return SealedBid(
        envelope_size=out.size,
        envelope_sha256=out.digest.hexdigest(),
        signed_size=signed_size,
        bidder_layer=bidder_encryption_certificate is not None,
        timestamped=timestamper is not None,
        manifest=manifest,
        recipients=result.recipients,
    )
