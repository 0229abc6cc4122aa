"""Opening test helpers: real bid packages, sealed and submitted through the submission service,
custodians' shares released as the ``sealbid custodian release`` tool does."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from crypto.bidpackage import ClientInfo, PackageFile, PriceForm, build_package, seal_bid
from crypto.ceremony import SharePlaintext, open_share, parse_bundle
from crypto.cms import Signer, sign_detached
from crypto.pki import BuiltPki
from crypto.receipt import SUBMISSION_TYPE, canonical
from tendering.bids.submission import Client, finalise_upload, withdraw_bid
from tendering.bids.uploads import create_upload, write_chunk
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.opening.releases import RELEASE_TYPE, ReleaseResult, release_share
from tendering.platform import Platform
from tendering.tenders.models import Tender
from tests.bids.fixtures import CUSTODIAN_NAMES, KeyedTender
from tests.submission.helpers import signer_of, uscc_of, withdrawal_statement
from tests.tenders.conftest import register

CLIENT = ClientInfo("sealbid-test", "1.0")


def deadline_of(platform: Platform, tender_id: uuid.UUID) -> Any:
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        return tender.bid_deadline


def pass_deadline(platform: Platform, clock: ManualClock, tender_id: uuid.UUID) -> None:
    """Move the clock past the deadline and the closing's grace margin."""
    now = clock.now()
    target = deadline_of(platform, tender_id) + timedelta(
        seconds=platform.settings.opening.closing_grace_seconds
    )
    if target > now:
        clock.advance(target - now)


def enrol_tenderer(platform: Platform, pki: BuiltPki, name: str) -> uuid.UUID:
    """Register another tenderer of the test PKI (tenderer-4, tenderer-5)."""
    return register(platform, pki, name, "tenderer").id


def package(tmp: Path, tender_id: uuid.UUID, uscc: str, total: str = "11800000.00") -> bytes:
    """A real bid package for lot 1 with a price form and two files."""
    tmp.mkdir(parents=True, exist_ok=True)
    files = []
    for index, (name, data) in enumerate(
        {"商务标/报价单.pdf": b"%PDF price " * 50, "技术标/方案.docx": b"x" * 3000}.items()
    ):
        path = tmp / f"f{index}"
        path.write_bytes(data)
        files.append(PackageFile(name, path))
    sink = io.BytesIO()
    build_package(
        sink,
        files,
        tender_id=str(tender_id),
        lot_ids=["1"],
        bidder_uscc=uscc,
        prices=[PriceForm("1", Decimal(total), "CNY", 365, "合格", (("项目经理", "张三"),))],
        machine_code="ab" * 32,
        client=CLIENT,
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    return sink.getvalue()


def sealed_bid(
    pki: BuiltPki,
    tmp: Path,
    keyed: KeyedTender,
    tenderer: str,
    *,
    signer: str | None = None,
    bidder_layer: bool = False,
    total: str = "11800000.00",
    package_bytes: bytes | None = None,
    at: datetime | None = None,
) -> bytes:
    """A sealed envelope for ``tenderer`` (signed by ``signer``'s certificate if given)."""
    data = package_bytes or package(tmp / tenderer, keyed.tender_id, uscc_of(pki, tenderer), total)
    out = io.BytesIO()
    if signer is None:
        seal_bid(
            io.BytesIO(data),
            out,
            signer_of(pki, tenderer),
            opening_certificate=keyed.opening_certificate,
            bidder_encryption_certificate=pki.encryption(tenderer).certificate if bidder_layer else None,
            signing_time=at,
        )
        return out.getvalue()
    from crypto.cms import seal_bytes, sign_attached

    signed = sign_attached(data, signer_of(pki, signer), signing_time=at)
    return seal_bytes(signed, [keyed.opening_certificate])


def submit(
    platform: Platform, tender_id: uuid.UUID, bidder_id: uuid.UUID, name: str, pki: BuiltPki, envelope: bytes
) -> dict[str, Any]:
    """Submit ``envelope`` through the submission service as ``name``; returns the receipt document."""
    digest = hashlib.sha256(envelope).hexdigest()
    status = create_upload(
        platform,
        bidder_id=bidder_id,
        tender_id=tender_id,
        size=len(envelope),
        sha256=digest,
        address=None,
        user_agent=None,
    )

    async def body() -> AsyncIterator[bytes]:
        yield envelope

    anyio.run(write_chunk, platform, status.id, bidder_id, 0, body())
    statement = canonical(
        {
            "type": SUBMISSION_TYPE,
            "tender": str(tender_id),
            "lots": [1],
            "envelope_sha256": digest,
            "envelope_size": len(envelope),
            "bidder_uscc": uscc_of(pki, name),
            "nonce": secrets.token_hex(16),
            "client_time": "2026-01-05T01:00:00Z",
            "client": {"name": "sealbid-test", "version": "1.0"},
            "machine_code": "mc-test",
        }
    )
    return finalise_upload(
        platform,
        status.id,
        bidder_id=bidder_id,
        statement_raw=statement,
        signature=sign_detached(statement, signer_of(pki, name)),
        client=Client("203.0.113.7", "test"),
    )


def withdraw(
    platform: Platform, tender_id: uuid.UUID, bidder_id: uuid.UUID, name: str, pki: BuiltPki, bid_id: str
) -> None:
    statement = withdrawal_statement(tender_id, bid_id, uscc_of(pki, name))
    withdraw_bid(
        platform,
        uuid.UUID(bid_id),
        bidder_id=bidder_id,
        statement_raw=statement,
        signature=sign_detached(statement, signer_of(pki, name)),
        client=Client(None, None),
    )


def custodian_share(pki: BuiltPki, keyed: KeyedTender, position: int) -> SharePlaintext:
    """Custodian ``position``'s share, decrypted with its encryption key as its tool does."""
    bundle = parse_bundle(keyed.output.bundle)
    credential = pki.encryption(CUSTODIAN_NAMES[position - 1])
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return open_share(
        bundle.shares[position - 1].encrypted_share,
        credential.certificate,
        key,
        tender_id=str(keyed.tender_id),
        index=position,
    )


def release_statement(keyed: KeyedTender, share: SharePlaintext, **overrides: Any) -> bytes:
    bundle = parse_bundle(keyed.output.bundle)
    fields: dict[str, Any] = {
        "type": RELEASE_TYPE,
        "tender": str(keyed.tender_id),
        "index": share.index,
        "commitment": bundle.commitments()[share.index],
        "opening_certificate_sha256": bundle.opening_certificate_sha256,
        "nonce": secrets.token_hex(16),
        "client_time": "2026-01-26T02:00:00Z",
    }
    fields.update(overrides)
    return canonical(fields)


def custodian_signer(pki: BuiltPki, position: int) -> Signer:
    return signer_of(pki, CUSTODIAN_NAMES[position - 1])


def release(
    platform: Platform,
    pki: BuiltPki,
    keyed: KeyedTender,
    custodians: tuple[uuid.UUID, ...],
    position: int,
    *,
    share: SharePlaintext | None = None,
    share_document: bytes | None = None,
) -> ReleaseResult:
    """Release custodian ``position``'s share as ``sealbid custodian release`` does."""
    share = share or custodian_share(pki, keyed, position)
    statement = release_statement(keyed, share)
    return release_share(
        platform,
        keyed.tender_id,
        statement=statement,
        signature=sign_detached(statement, custodian_signer(pki, position)),
        share_document=share_document or share.to_bytes(),
        actor=Actor(custodians[position - 1], "custodian", f"198.51.100.{30 + position}"),
    )


def certificate_of(keyed: KeyedTender) -> x509.Certificate:
    return keyed.opening_certificate
