"""The bidder's signed statements: ``sealbid.submission.v1`` and ``sealbid.withdrawal.v1``.

A statement is RFC 8785 canonical JSON with a detached CMS SignedData by the bidder's signing
certificate. :func:`verified_statement` parses it, checks the fields, verifies the signature and that
the signer is an active, registered, PKI-valid signing certificate of the logged-in organisation.
Every refusal is an :class:`~tendering.errors.InvalidInput` or :class:`~tendering.errors.Forbidden`
with its own code; nothing is stored by this module.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.orm import Session

from crypto.cms import CmsError, Limits, verify_signed
from crypto.receipt import SUBMISSION_TYPE, WITHDRAWAL_TYPE, canonical
from tendering.errors import Forbidden, InvalidInput
from tendering.identity.models import CertificatePurpose, CertificateStatus
from tendering.identity.registry import certificate_by_fingerprint, fingerprint_of

if TYPE_CHECKING:
    from tendering.platform import Platform

MAX_STATEMENT_BYTES: Final = 16 * 1024
MAX_SIGNATURE_BYTES: Final = 64 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NONCE = re.compile(r"[0-9A-Za-z_-]{16,128}")
_SIGNATURE_LIMITS = Limits(max_size=MAX_SIGNATURE_BYTES, max_metadata=MAX_SIGNATURE_BYTES)


def _malformed(detail: str) -> InvalidInput:
    return InvalidInput(f"the signed statement is not acceptable: {detail}", code="statement-malformed")


@dataclass(frozen=True)
class Statement:
    """A parsed, signature-checked statement."""

    type: str
    fields: dict[str, Any]
    raw: bytes
    signature: bytes
    signer_fingerprint: str

    @property
    def nonce(self) -> str:
        """The single-use nonce the bidder chose."""
        return str(self.fields["nonce"])

    @property
    def lots(self) -> list[int]:
        """Lot numbers (sorted)."""
        return sorted(int(n) for n in self.fields.get("lots", []))


def _parse(raw: bytes, expected_type: str) -> dict[str, Any]:
    if len(raw) > MAX_STATEMENT_BYTES:
        raise _malformed(f"larger than {MAX_STATEMENT_BYTES} bytes")
    try:
        fields = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _malformed("not JSON") from None
    except RecursionError:  # nesting deeper than the parser recurses (well within 16 KiB)
        raise _malformed("nested too deeply") from None
    if not isinstance(fields, dict):
        raise _malformed("not a JSON object")
    if fields.get("type") != expected_type:
        raise _malformed(f"its type must be {expected_type}")
    try:
        if canonical(fields) != raw:
            raise _malformed("not in RFC 8785 canonical form (sign the canonical bytes)")
    except (TypeError, ValueError) as exc:  # integers out of range, odd values
        raise _malformed(str(exc)) from None
    except RecursionError:
        raise _malformed("nested too deeply") from None
    nonce = fields.get("nonce")
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise _malformed("nonce must be 16 to 128 characters of [0-9A-Za-z_-]")
    if not isinstance(fields.get("tender"), str):
        raise _malformed("tender must be the tender's id")
    if not isinstance(fields.get("bidder_uscc"), str):
        raise _malformed("bidder_uscc must be the bidder's unified social credit code")
    if not isinstance(fields.get("client_time"), str) or len(fields["client_time"]) > 40:
        raise _malformed("client_time must be an RFC 3339 time")
    return fields


def _check_submission_fields(fields: dict[str, Any]) -> None:
    lots = fields.get("lots")
    if not isinstance(lots, list) or not lots or not all(type(n) is int for n in lots):
        raise _malformed("lots must be a non-empty list of lot numbers")
    if len(set(lots)) != len(lots):
        raise _malformed("lots lists a lot twice")
    if not isinstance(fields.get("envelope_sha256"), str) or not _HEX64.fullmatch(fields["envelope_sha256"]):
        raise _malformed("envelope_sha256 must be 64 lower-case hex digits")
    if type(fields.get("envelope_size")) is not int or fields["envelope_size"] < 1:
        raise _malformed("envelope_size must be a positive integer")
    client = fields.get("client")
    if not isinstance(client, dict) or not all(
        isinstance(client.get(k), str) and 0 < len(client[k]) <= 50 for k in ("name", "version")
    ):
        raise _malformed('client must be {"name": ..., "version": ...} (at most 50 characters each)')
    machine = fields.get("machine_code")
    if not isinstance(machine, str) or not 0 < len(machine) <= 128:
        raise _malformed("machine_code must be a string of at most 128 characters")


def _check_withdrawal_fields(fields: dict[str, Any]) -> None:
    bid = fields.get("bid")
    try:
        uuid.UUID(str(bid))
    except ValueError:
        raise _malformed("bid must be the id of the bid to withdraw") from None


def _verify_signature(raw: bytes, signature: bytes) -> bytes:
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise _malformed(f"the signature is larger than {MAX_SIGNATURE_BYTES} bytes")
    try:
        verdict = verify_signed(signature, detached_content=raw, limits=_SIGNATURE_LIMITS)
    except CmsError as exc:
        raise InvalidInput(
            f"the statement's signature is not a CMS SignedData: {exc}", code="statement-signature-invalid"
        ) from None
    if not verdict.ok or verdict.signer_certificate is None:
        reasons = "; ".join(verdict.reasons) or "it does not verify"
        raise InvalidInput(
            f"the statement's signature is not valid: {reasons}", code="statement-signature-invalid"
        )
    return verdict.signer_certificate.public_bytes(Encoding.DER)


def _check_signer(platform: Platform, session: Session, der: bytes, bidder_id: uuid.UUID) -> str:
    fingerprint = fingerprint_of(der)
    cert = certificate_by_fingerprint(session, fingerprint)
    if cert is None or cert.identity_id != bidder_id:
        raise Forbidden(
            "the statement is signed with a certificate that is not registered to your organisation; "
            "sign with your organisation's signing certificate",
            code="signer-not-bidder",
        )
    if cert.status != CertificateStatus.ACTIVE or cert.purpose != CertificatePurpose.SIGNING:
        raise Forbidden(
            "the statement's signing certificate is revoked or not a signing certificate",
            code="signer-certificate-invalid",
        )
    verdict = platform.certificates.validate(der, purpose="signing")
    if not verdict.ok:
        raise Forbidden(
            f"the statement's signing certificate is not valid: {verdict.message}",
            code="signer-certificate-invalid",
            reason=str(verdict.reason),
        )
    return fingerprint


def verified_statement(
    platform: Platform,
    session: Session,
    raw: bytes,
    signature: bytes,
    *,
    expected_type: str,
    bidder_id: uuid.UUID,
) -> Statement:
    """Parse ``raw``, check its fields for ``expected_type``, verify ``signature`` and the signer."""
    fields = _parse(raw, expected_type)
    if expected_type == SUBMISSION_TYPE:
        _check_submission_fields(fields)
    elif expected_type == WITHDRAWAL_TYPE:
        _check_withdrawal_fields(fields)
    der = _verify_signature(raw, signature)
    fingerprint = _check_signer(platform, session, der, bidder_id)
    return Statement(expected_type, fields, raw, signature, fingerprint)
