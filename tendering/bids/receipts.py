"""Building bid receipts: the platform's signature, the time-stamp, the log proof and checkpoint.

The receipt (``sealbid.receipt.v1``, :mod:`crypto.receipt`) is built after the envelope is durably
stored and the version's log entry is integrated, then kept on the version row so a bidder can fetch
it again. If time-stamping fails right after a submission, the bid still stands (it is stored and
logged); the receipt is built on the next fetch (:func:`ensure_receipt`).

Signing: ``settings.bids.receipt_signer_p12`` (+ password file), or, outside production, the
development PKI's ``platform-signing`` certificate. Time-stamping: ``settings.bids.tsa_url`` (an
RFC 3161 TSA over HTTP, through pyHanko), or the development PKI's in-process TSA.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.timestamps import HTTPTimeStamper
from sqlalchemy import select

from crypto.cms import PyhankoTimeStamper, Signer, TimeStamper, sign_detached
from crypto.cms.errors import CmsError
from crypto.cms.timestamps import resolve
from crypto.receipt import RECEIPT_TYPE, ReceiptBundle, canonical
from tendering.bids.models import Bid, BidVersion
from tendering.errors import NotFound, Unavailable
from tendering.tenders.spec import utc_text

if TYPE_CHECKING:
    from tendering.platform import Platform


def receipt_signer(platform: Platform) -> Signer:
    """The platform's receipt-signing certificate and key (Unavailable if none is configured)."""
    bids = platform.settings.bids
    if bids.receipt_signer_p12 is not None:
        password = (
            bids.receipt_signer_password_file.read_bytes().strip()
            if bids.receipt_signer_password_file
            else None
        )
        key, cert, chain = pkcs12.load_key_and_certificates(bids.receipt_signer_p12.read_bytes(), password)
        if cert is None or not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise Unavailable("the receipt-signing PKCS#12 holds no usable key and certificate")
        return Signer(cert, key, tuple(chain))
    dev = platform.certificates.dev_pki() if platform.settings.environment != "production" else None
    if dev is None or "platform-signing" not in dev.pki.credentials:
        raise Unavailable(
            "no receipt-signing certificate is configured (settings bids.receipt_signer_p12)",
            code="receipt-signer-missing",
        )
    credential = dev.pki.credential("platform-signing")
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return Signer(credential.certificate, key, tuple(dev.pki.chain("platform-signing")))


def receipt_timestamper(platform: Platform) -> TimeStamper:
    """Where receipt time-stamps come from (Unavailable if nowhere)."""
    bids = platform.settings.bids
    if bids.tsa_url:
        return PyhankoTimeStamper(HTTPTimeStamper(bids.tsa_url, timeout=bids.tsa_timeout_seconds))
    dev = platform.certificates.dev_pki() if platform.settings.environment != "production" else None
    if dev is None or dev.tsa is None:
        raise Unavailable(
            "no time-stamping authority is configured (settings bids.tsa_url)", code="tsa-missing"
        )
    return PyhankoTimeStamper(dev.tsa.timestamper())


def receipt_fields(bid: Bid, version: BidVersion, *, origin: str, size: int, root: bytes) -> dict[str, Any]:
    """The receipt document of ``version`` against the checkpoint of ``size`` and ``root``."""
    return {
        "type": RECEIPT_TYPE,
        "bid": str(bid.id),
        "version": version.version,
        "kind": version.kind,
        "tender": str(bid.tender_id),
        "lots": list(version.lots),
        "envelope_sha256": version.envelope_sha256,
        "envelope_size": version.envelope_size,
        "statement_sha256": hashlib.sha256(version.statement).hexdigest(),
        "bidder_commitment": version.bidder_commitment,
        "commitment": version.commitment,
        "received_at": utc_text(version.received_at),
        "log": {
            "origin": origin,
            "index": version.log_index,
            "checkpoint_size": size,
            "checkpoint_root": base64.b64encode(root).decode("ascii"),
        },
        "opening": {"bidder_uscc": bid.bidder_uscc, "salt": bid.salt.hex()},
    }


def build_receipt(
    platform: Platform, version_id: uuid.UUID, *, pending_id: int | None = None
) -> ReceiptBundle:
    """Integrate the version's log entry if needed, then sign, time-stamp and store its receipt.

    ``pending_id`` is the version's pending log entry when the caller has just recorded it (saves
    reading it back)."""
    if pending_id is None:
        with platform.session_factory() as session:
            version = session.get(BidVersion, version_id)
            if version is None:
                raise NotFound("no such bid version", code="bid-not-found")
            pending_id = version.log_pending_id
    index = platform.translog.wait_integrated(pending_id)
    with platform.transaction() as session:
        version = session.get(BidVersion, version_id, with_for_update=True)
        assert version is not None
        if version.receipt is not None:
            return ReceiptBundle.from_json(version.receipt)
        head, proof, entry = platform.translog.receipt_material(index, session)
        bid = session.get(Bid, version.bid_id)
        assert bid is not None
        version.log_index = index
        fields = receipt_fields(
            bid, version, origin=platform.settings.log_origin, size=head.size, root=head.root
        )
        receipt = canonical(fields)
        try:
            signature = sign_detached(receipt, receipt_signer(platform))
            token = resolve(
                receipt_timestamper(platform).timestamp(hashlib.sha256(receipt).digest(), "sha256")
            )
        except CmsError as exc:
            raise Unavailable(
                f"the receipt could not be signed or time-stamped now ({exc}); your bid is stored and "
                "logged - fetch the receipt again later",
                code="receipt-unavailable",
                bid=str(bid.id),
                version=version.version,
            ) from exc
        bundle = ReceiptBundle(
            receipt=receipt,
            signature=signature,
            timestamp_token=token,
            log_entry=entry.entry,
            inclusion_proof=tuple(proof.proof),
            checkpoint=head.note.encode("utf-8"),
        )
        version.receipt = bundle.to_json()
        return bundle


def ensure_receipt(platform: Platform, version_id: uuid.UUID) -> dict[str, Any]:
    """The stored receipt bundle of a version (built now if it is missing), as JSON data."""
    with platform.session_factory() as session:
        stored = session.scalar(select(BidVersion.receipt).where(BidVersion.id == version_id))
    if stored is not None:
        document: dict[str, Any] = json.loads(stored)
        return document
    return build_receipt(platform, version_id).document()
