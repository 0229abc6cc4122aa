"""What the opening records of an opened envelope: the price form and the signature in short."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from crypto.bidpackage import BidVerdict, Manifest
from tendering.identity.registry import fingerprint_of


def price_summary(manifest: Manifest) -> dict[str, Any]:
    """Lots, prices (decimal strings), currency, duration, quality and declared fields of a manifest."""
    return {
        "tender_id": manifest.tender_id,
        "lot_ids": list(manifest.lot_ids),
        "bidder_uscc": manifest.bidder_uscc,
        "prices": [price.to_json() for price in manifest.prices],
        "machine_code": manifest.machine_code,
        "client": {"name": manifest.client.name, "version": manifest.client.version},
        "created_at": manifest.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": len(manifest.files),
    }


def signature_summary(verdict: BidVerdict) -> dict[str, Any]:
    """The inner signature's verdict in short: signer, signing time, time-stamp, trust, reasons."""
    summary: dict[str, Any] = {
        "ok": verdict.ok,
        "code": verdict.code,
        "reasons": list(verdict.reasons),
        "bidder_layer": verdict.bidder_layer,
        "envelope_sha256": verdict.envelope_sha256,
        "envelope_size": verdict.envelope_size,
        "package_sha256": verdict.package_sha256,
        "timestamped": verdict.timestamp_valid,
    }
    certificate = verdict.signer_certificate
    if certificate is not None:
        summary["signer"] = {
            "subject": certificate.subject.rfc4514_string(),
            "fingerprint": fingerprint_of(certificate.public_bytes(Encoding.DER)),
            "uscc": verdict.signer_uscc,
        }
    if verdict.signing_time is not None:
        summary["signing_time"] = verdict.signing_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    if verdict.signature is not None:
        summary["trusted"] = verdict.signature.trusted
    return summary
