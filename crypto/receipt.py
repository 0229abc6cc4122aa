"""Bid receipts (``sealbid.receipt.v1``) and their offline verifier; the bid log commitments.

A receipt is RFC 8785 canonical JSON that the platform signs (CMS SignedData, detached) and has
time-stamped (an RFC 3161 token whose message imprint is the SHA-256 of the receipt bytes). The bundle a
bidder keeps (``receipt.json``) adds the public log entry, its RFC 9162 inclusion proof and the signed
checkpoint (C2SP) the proof leads to. :func:`verify_receipt` checks all of it without any network:

* ``format``: the receipt is canonical JSON of the right type;
* ``platform-signature``: the CMS signature is intact and its certificate chains to the given CA bundle;
* ``timestamp``: the token is intact, over this receipt, by a time-stamping certificate of the bundle;
* ``commitment``: the receipt's opening recomputes the bidder and version commitments and the log entry
  carries exactly that commitment and names no tender;
* ``inclusion``: the entry is leaf ``index`` of the tree whose size and root the receipt states;
* ``checkpoint``: that size and root are signed by the log's key;
* ``envelope``: the bidder's sealed file has the SHA-256 and size in the receipt.

Formats are specified in ``docs/submission.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO, Final

import rfc8785
from cryptography import x509

from crypto.checkpoint import CheckpointError, verify_checkpoint
from crypto.cms.errors import CmsError
from crypto.cms.signer_check import check_timestamp
from crypto.cms.verify import verify_signed
from crypto.merkle import MerkleError, leaf_hash, verify_inclusion
from crypto.pki.validation import CertificateChecker, Purpose, RevocationPolicy
from crypto.signednote import NoteError, parse_verifier_key

RECEIPT_TYPE: Final = "sealbid.receipt.v1"
BUNDLE_TYPE: Final = "sealbid.receipt-bundle.v1"
SUBMISSION_TYPE: Final = "sealbid.submission.v1"
WITHDRAWAL_TYPE: Final = "sealbid.withdrawal.v1"
LOG_ENTRY_TYPE: Final = "bid.version"
BIDDER_DOMAIN: Final = b"sealbid.bid.bidder.v1\x00"
VERSION_DOMAIN: Final = b"sealbid.bid.version.v1\x00"
#: How far before the server's receipt time a time-stamp may claim to be (clock skew between them).
TIMESTAMP_SKEW: Final = timedelta(minutes=5)
_CHUNK = 1 << 20


class ReceiptError(ValueError):
    """A receipt bundle that does not parse."""


def canonical(document: Any) -> bytes:
    """RFC 8785 canonical JSON bytes."""
    return bytes(rfc8785.dumps(document))


def bidder_commitment(bid_id: str, bidder_uscc: str, salt: bytes) -> str:
    """Hex SHA-256 over the bidder domain tag and the canonical JSON of bid id, USCC and salt (hex)."""
    opening = canonical({"bid": bid_id, "bidder_uscc": bidder_uscc, "salt": salt.hex()})
    return hashlib.sha256(BIDDER_DOMAIN + opening).hexdigest()


def version_commitment(
    *,
    tender: str,
    bid: str,
    version: int,
    kind: str,
    lots: Iterable[int],
    envelope_sha256: str | None,
    bidder: str,
    salt: bytes,
) -> str:
    """Hex SHA-256 over the version domain tag and the canonical JSON of what one bid version is.

    ``bidder`` is the :func:`bidder_commitment`. This is the only data of the public log entry; the salt
    stays confidential until the opening, so before it nobody can link the entry to a tender or bidder.
    """
    opening = canonical(
        {
            "bid": bid,
            "bidder": bidder,
            "envelope_sha256": envelope_sha256,
            "kind": kind,
            "lots": sorted(lots),
            "salt": salt.hex(),
            "tender": tender,
            "version": version,
        }
    )
    return hashlib.sha256(VERSION_DOMAIN + opening).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ReceiptError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ReceiptError(f"{what} is not valid base64") from exc


@dataclass(frozen=True)
class ReceiptBundle:
    """A receipt with everything needed to check it offline."""

    receipt: bytes
    signature: bytes
    timestamp_token: bytes
    log_entry: bytes
    inclusion_proof: tuple[bytes, ...]
    checkpoint: bytes

    def document(self) -> dict[str, Any]:
        """The bundle as JSON-ready data (``receipt.json``)."""
        return {
            "type": BUNDLE_TYPE,
            "receipt": _b64(self.receipt),
            "signature": _b64(self.signature),
            "timestamp_token": _b64(self.timestamp_token),
            "log_entry": _b64(self.log_entry),
            "inclusion_proof": [_b64(h) for h in self.inclusion_proof],
            "checkpoint": self.checkpoint.decode("utf-8"),
        }

    def to_json(self) -> bytes:
        """The bundle file's bytes."""
        return json.dumps(self.document(), indent=2).encode("utf-8") + b"\n"

    def fields(self) -> dict[str, Any]:
        """The receipt's own fields (raises :class:`ReceiptError` if it is not a JSON object)."""
        try:
            value = json.loads(self.receipt)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReceiptError(f"the receipt is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ReceiptError("the receipt is not a JSON object")
        return value

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ReceiptBundle:
        """Parse a bundle document (raises :class:`ReceiptError`)."""
        if not isinstance(document, Mapping) or document.get("type") != BUNDLE_TYPE:
            raise ReceiptError(f"not a receipt bundle (type must be {BUNDLE_TYPE})")
        proof = document.get("inclusion_proof")
        checkpoint = document.get("checkpoint")
        if not isinstance(proof, list) or len(proof) > 64:
            raise ReceiptError("inclusion_proof must be a list of at most 64 base64 hashes")
        if not isinstance(checkpoint, str):
            raise ReceiptError("checkpoint must be the signed note text")
        try:
            note = checkpoint.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escaped in the JSON
            raise ReceiptError("checkpoint is not valid text") from None
        return cls(
            receipt=_unb64(document.get("receipt"), "receipt"),
            signature=_unb64(document.get("signature"), "signature"),
            timestamp_token=_unb64(document.get("timestamp_token"), "timestamp_token"),
            log_entry=_unb64(document.get("log_entry"), "log_entry"),
            inclusion_proof=tuple(_unb64(h, "inclusion_proof hash") for h in proof),
            checkpoint=note,
        )

    @classmethod
    def from_json(cls, data: bytes) -> ReceiptBundle:
        """Parse ``receipt.json`` bytes; any malformed input raises :class:`ReceiptError`, nothing else."""
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReceiptError(f"the receipt file is not JSON: {exc}") from exc
        except RecursionError:
            raise ReceiptError("the receipt file is not a receipt bundle: nested too deeply") from None
        return cls.from_document(document)


@dataclass(frozen=True)
class Check:
    """One check of a receipt: its name, outcome and a plain explanation."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ReceiptVerdict:
    """Every check of a receipt; ``ok`` only if all of them passed."""

    checks: tuple[Check, ...]
    receipt: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        """All checks passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, name: str) -> Check | None:
        """The check called ``name`` (None if it was not run)."""
        return next((c for c in self.checks if c.name == name), None)


def _checker(ca_certificates: Iterable[x509.Certificate]) -> CertificateChecker:
    certs = list(ca_certificates)
    roots = [c for c in certs if c.issuer == c.subject]
    if not roots:
        raise ReceiptError("the CA bundle holds no root (self-signed) certificate")
    others = [c for c in certs if c.issuer != c.subject]
    return CertificateChecker(roots, intermediates=others, revocation=RevocationPolicy.OFF)


def _format_check(bundle: ReceiptBundle) -> tuple[Check, dict[str, Any]]:
    try:
        fields = bundle.fields()
    except ReceiptError as exc:
        return Check("format", False, str(exc)), {}
    if fields.get("type") != RECEIPT_TYPE:
        return Check("format", False, f"the receipt type is not {RECEIPT_TYPE}"), fields
    if canonical(fields) != bundle.receipt:
        return Check("format", False, "the receipt is not in canonical JSON form"), fields
    return Check("format", True, "canonical JSON of type sealbid.receipt.v1"), fields


def _signature_check(bundle: ReceiptBundle, checker: CertificateChecker) -> Check:
    def trust(cert: x509.Certificate, at: datetime | None) -> Any:
        return checker.avalidate(cert, purpose=Purpose.SIGNING, at=at)

    try:
        verdict = verify_signed(bundle.signature, detached_content=bundle.receipt, check_certificate=trust)
    except CmsError as exc:
        return Check("platform-signature", False, f"the signature does not parse: {exc}")
    if not verdict.ok:
        return Check("platform-signature", False, "; ".join(verdict.reasons) or "not valid")
    subject = verdict.signer_certificate.subject.rfc4514_string() if verdict.signer_certificate else "?"
    return Check("platform-signature", True, f"signed by {subject}, trusted by the CA bundle")


def _timestamp_check(bundle: ReceiptBundle, fields: Mapping[str, Any], checker: CertificateChecker) -> Check:
    verdict = check_timestamp(bundle.timestamp_token, bundle.receipt, None)
    if not verdict.intact or not verdict.covers_signature:
        problems = list(verdict.reasons)
        if not verdict.covers_signature:
            problems.append("the time-stamp is not over this receipt")
        return Check("timestamp", False, "; ".join(problems) or "the time-stamp token is not valid")
    if verdict.tsa_certificate is None or verdict.gen_time is None:
        return Check("timestamp", False, "the time-stamp token names no TSA certificate or time")
    trusted = checker.validate(verdict.tsa_certificate, purpose=Purpose.TIME_STAMPING, at=verdict.gen_time)
    if not trusted.ok:
        return Check("timestamp", False, f"the TSA certificate is not trusted: {trusted.message}")
    received = _parse_time(fields.get("received_at"))
    if received is not None and verdict.gen_time < received - TIMESTAMP_SKEW:
        return Check("timestamp", False, "the time-stamp is older than the receipt it is over")
    return Check("timestamp", True, f"time-stamped at {verdict.gen_time.isoformat()} by a trusted TSA")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _commitment_check(bundle: ReceiptBundle, fields: Mapping[str, Any]) -> Check:
    try:
        opening = fields["opening"]
        salt = bytes.fromhex(opening["salt"])
        bidder = bidder_commitment(fields["bid"], opening["bidder_uscc"], salt)
        version = version_commitment(
            tender=fields["tender"],
            bid=fields["bid"],
            version=fields["version"],
            kind=fields["kind"],
            lots=fields["lots"],
            envelope_sha256=fields["envelope_sha256"],
            bidder=bidder,
            salt=salt,
        )
        entry = json.loads(bundle.log_entry)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Check("commitment", False, f"the receipt or log entry lacks a field: {exc}")
    if bidder != fields.get("bidder_commitment") or version != fields.get("commitment"):
        return Check("commitment", False, "the receipt's opening does not give its commitments")
    if not isinstance(entry, dict) or entry.get("type") != LOG_ENTRY_TYPE:
        return Check("commitment", False, f"the log entry is not a {LOG_ENTRY_TYPE} entry")
    if entry.get("tender") is not None or entry.get("data") != {"commitment": version}:
        return Check("commitment", False, "the log entry does not carry exactly this commitment")
    return Check("commitment", True, "the log entry commits to this bid version and names nobody")


def _inclusion_check(bundle: ReceiptBundle, fields: Mapping[str, Any]) -> Check:
    try:
        log = fields["log"]
        index, size = int(log["index"]), int(log["checkpoint_size"])
        root = base64.b64decode(log["checkpoint_root"], validate=True)
        verdict = verify_inclusion(leaf_hash(bundle.log_entry), index, size, bundle.inclusion_proof, root)
    except (KeyError, TypeError, ValueError, binascii.Error, MerkleError) as exc:
        return Check("inclusion", False, f"the inclusion proof cannot be checked: {exc}")
    if not verdict.ok:
        return Check("inclusion", False, verdict.reason)
    return Check("inclusion", True, f"entry {index} is in the log tree of size {size}")


def _checkpoint_check(bundle: ReceiptBundle, fields: Mapping[str, Any], log_key: str) -> Check:
    try:
        verifier = parse_verifier_key(log_key)
        verdict = verify_checkpoint(bundle.checkpoint, verifier, verifier.name)
        log = fields["log"]
        size, root = int(log["checkpoint_size"]), base64.b64decode(log["checkpoint_root"], validate=True)
    except (NoteError, CheckpointError, KeyError, TypeError, ValueError, binascii.Error) as exc:
        return Check("checkpoint", False, f"the checkpoint cannot be checked: {exc}")
    if not verdict.ok or verdict.checkpoint is None:
        return Check("checkpoint", False, "; ".join(verdict.reasons) or "not signed by the log key")
    if verdict.checkpoint.size != size or verdict.checkpoint.root_hash != root:
        return Check("checkpoint", False, "the signed checkpoint is not the one the receipt states")
    return Check("checkpoint", True, f"checkpoint of size {size} signed by {verifier.name}")


def _envelope_check(envelope: BinaryIO, fields: Mapping[str, Any]) -> Check:
    expected = fields.get("envelope_sha256")
    if expected is None:
        return Check("envelope", False, "this receipt is for a withdrawal: it covers no envelope")
    digest, size = hashlib.sha256(), 0
    while chunk := envelope.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    if digest.hexdigest() != expected or size != fields.get("envelope_size"):
        return Check("envelope", False, "the file is not the envelope this receipt is for (SHA-256 differs)")
    return Check("envelope", True, f"the file's SHA-256 is {expected}")


def verify_receipt(
    bundle: ReceiptBundle,
    *,
    ca_certificates: Iterable[x509.Certificate],
    log_key: str,
    envelope: BinaryIO | None = None,
) -> ReceiptVerdict:
    """Check a receipt bundle offline against a CA bundle and the log's verifier key.

    ``envelope`` (the bidder's sealed file) is hashed in chunks if given. Raises :class:`ReceiptError`
    only when the CA bundle has no root; every problem with the receipt itself is a failed check.
    """
    checker = _checker(ca_certificates)
    format_check, fields = _format_check(bundle)
    checks = [format_check]
    if format_check.ok:
        checks += [
            _signature_check(bundle, checker),
            _timestamp_check(bundle, fields, checker),
            _commitment_check(bundle, fields),
            _inclusion_check(bundle, fields),
            _checkpoint_check(bundle, fields, log_key),
        ]
        if envelope is not None:
            checks.append(_envelope_check(envelope, fields))
    return ReceiptVerdict(tuple(checks), fields)
