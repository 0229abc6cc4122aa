"""Submission test helpers: an opening key for a tender, sealed envelopes, signed statements, uploads."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar.testing import TestClient

from crypto.cms import Signer, seal_bytes, sign_detached
from crypto.identity import identify
from crypto.pki import BuiltPki, Credential
from crypto.receipt import SUBMISSION_TYPE, WITHDRAWAL_TYPE, canonical

OFFSET_TYPE = "application/offset+octet-stream"


def opening_certificate(name: str = "opening") -> x509.Certificate:
    """A throwaway P-256 opening certificate (key agreement), as a ceremony would make."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sealbid test {name}")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def sealed(cert: x509.Certificate, content: bytes = b"bid package") -> bytes:
    """A sealed envelope (CMS AuthEnvelopedData) to ``cert``."""
    return seal_bytes(content, [cert])


def signer_of(pki: BuiltPki, name: str) -> Signer:
    """The signing credential of participant ``name`` as a CMS signer."""
    credential: Credential = pki.signing(name)
    return Signer(credential.certificate, credential.private_key, tuple(pki.chain(credential.name)))  # type: ignore[arg-type]


def uscc_of(pki: BuiltPki, name: str) -> str:
    """The USCC in the participant's certificate."""
    return identify(pki.signing(name).certificate).identifier


def submission_statement(
    tender_id: uuid.UUID, envelope: bytes, uscc: str, lots: list[int] | None = None, **overrides: Any
) -> bytes:
    """Canonical ``sealbid.submission.v1`` bytes for ``envelope``."""
    fields: dict[str, Any] = {
        "type": SUBMISSION_TYPE,
        "tender": str(tender_id),
        "lots": [1] if lots is None else lots,
        "envelope_sha256": hashlib.sha256(envelope).hexdigest(),
        "envelope_size": len(envelope),
        "bidder_uscc": uscc,
        "nonce": secrets.token_hex(16),
        "client_time": "2026-01-05T01:00:00Z",
        "client": {"name": "sealbid-test", "version": "1.0"},
        "machine_code": "mc-" + hashlib.sha256(uscc.encode()).hexdigest()[:16],
    }
    fields.update(overrides)
    return canonical(fields)


def withdrawal_statement(tender_id: uuid.UUID, bid_id: str, uscc: str, **overrides: Any) -> bytes:
    """Canonical ``sealbid.withdrawal.v1`` bytes."""
    fields: dict[str, Any] = {
        "type": WITHDRAWAL_TYPE,
        "tender": str(tender_id),
        "bid": bid_id,
        "bidder_uscc": uscc,
        "nonce": secrets.token_hex(16),
        "client_time": "2026-01-05T01:00:00Z",
    }
    fields.update(overrides)
    return canonical(fields)


def signed_body(statement: bytes, signer: Signer) -> dict[str, str]:
    """``{"statement", "signature"}`` as the API wants them."""
    return {
        "statement": base64.b64encode(statement).decode(),
        "signature": base64.b64encode(sign_detached(statement, signer)).decode(),
    }


@dataclass
class Bidder:
    """A logged-in tenderer for API tests."""

    name: str
    headers: dict[str, str]
    signer: Signer
    uscc: str


def start_upload(client: TestClient, bidder: Bidder, tender_id: uuid.UUID, envelope: bytes) -> Any:  # type: ignore[type-arg]
    """POST /bids/uploads for ``envelope``."""
    body = {"tender": str(tender_id), "size": len(envelope), "sha256": hashlib.sha256(envelope).hexdigest()}
    return client.post("/bids/uploads", json=body, headers=bidder.headers)


def send_chunk(client: TestClient, bidder: Bidder, upload_id: str, offset: int, data: bytes) -> Any:  # type: ignore[type-arg]
    """PATCH one chunk at ``offset``."""
    headers = {**bidder.headers, "Upload-Offset": str(offset), "Content-Type": OFFSET_TYPE}
    return client.patch(f"/bids/uploads/{upload_id}", content=data, headers=headers)


def submit(
    client: TestClient,  # type: ignore[type-arg]
    bidder: Bidder,
    tender_id: uuid.UUID,
    envelope: bytes,
    *,
    lots: list[int] | None = None,
    chunk: int = 1000,
    statement: bytes | None = None,
) -> Any:
    """Upload ``envelope`` in chunks and finalise it; returns the finalise response."""
    created = start_upload(client, bidder, tender_id, envelope)
    assert created.status_code == 201, created.text
    upload_id = created.json()["id"]
    for offset in range(0, len(envelope), chunk):
        sent = send_chunk(client, bidder, upload_id, offset, envelope[offset : offset + chunk])
        assert sent.status_code == 204, sent.text
    statement = statement or submission_statement(tender_id, envelope, bidder.uscc, lots)
    return client.post(
        f"/bids/uploads/{upload_id}/finalise",
        json=signed_body(statement, bidder.signer),
        headers=bidder.headers,
    )
