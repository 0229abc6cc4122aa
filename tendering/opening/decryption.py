"""The bidder-decryption layer (Measures Art. 30/31): bidders decrypt their own layer online.

When the platform layer of an envelope reveals a middle layer (sealed to the bidder's own encryption
certificate), the opening stores that layer and waits. During the decryption window
(``settings.opening.bidder_decryption_window_minutes`` from the end of the platform layer's opening)
the bidder, and only the bidder, downloads its middle layer, unwraps its content-encryption key
locally (``sealbid bid decrypt``) and sends that key with a signed ``sealbid.bidder-decryption.v1``
statement. The platform decrypts the layer with it (:mod:`tendering.opening.cek`; the bidder's private
key never leaves its machine), verifies the inner signature and package, and records the outcome.

Outcomes, by recorded facts: a key that does not open the layer is logged and may be retried within the
window; no working key by the window's end is the bidder's fault (revoked, ``bidder-layer-not-decrypted``);
a bad signature or package inside is the bidder's fault too; a stored layer the platform cannot read,
or that no longer hashes to its recorded SHA-256, is the platform's fault (withdrawn,
``envelope-missing``, ``other_failed``) whenever it is found: at the download, when a key is tried, or
at the window's end. The opening goes on for the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from crypto.bidpackage import open_bid
from crypto.cms import CmsError, seal
from tendering.bids.statements import verified_statement
from tendering.errors import Conflict, InvalidInput, NotFound, TooLate
from tendering.identity.audit import Actor
from tendering.opening.cek import open_with_cek
from tendering.opening.models import Decryption, OpeningOutcome, OpeningSession, OpeningState
from tendering.opening.opener import (
    certificate_check,
    clear_stale_scratch,
    decided_fields,
    opening_scratch,
    record,
    record_verdict,
    settle,
)
from tendering.opening.outcomes import decide
from tendering.tenders.events import log_event

if TYPE_CHECKING:
    from tendering.platform import Platform

DECRYPTION_TYPE: Final = "sealbid.bidder-decryption.v1"
FAILED_ATTEMPT_EVENT: Final = "opening.bidder_key_refused"
_CHUNK: Final = 1 << 20


def _waiting_row(platform: Platform, tender_id: uuid.UUID, bidder_id: uuid.UUID) -> OpeningOutcome:
    with platform.session_factory() as session:
        opening = session.get(OpeningSession, tender_id)
        row = session.scalar(
            select(OpeningOutcome).where(
                OpeningOutcome.tender_id == tender_id, OpeningOutcome.bidder_id == bidder_id
            )
        )
        if opening is None or row is None:
            raise NotFound("you have no envelope in this tender's opening", code="envelope-unknown")
        if row.outcome is not None or row.middle_sha256 is None:
            raise Conflict("your envelope has no layer left to decrypt", code="nothing-to-decrypt")
        if opening.state != OpeningState.BIDDER_DECRYPTION or opening.decryption_deadline is None:
            raise Conflict("the decryption window is not open", code="decryption-not-open")
        if platform.clock.now() >= opening.decryption_deadline:
            raise TooLate("the decryption window has ended", code="decryption-window-ended")
        session.expunge(row)
        return row


def _layer_intact(platform: Platform, sha256: str) -> bool:
    """Whether the platform can read the stored layer and it still hashes to its recorded SHA-256."""
    digest = hashlib.sha256()
    try:
        with platform.blobs.open(sha256) as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except (OSError, NotFound):
        return False
    return digest.hexdigest() == sha256


def _platform_lost(platform: Platform, row: OpeningOutcome) -> NotFound:
    """Record a stored layer the platform cannot read as the platform's fault (withdrawal, Art. 31)."""
    record(
        platform,
        row.id,
        {**decided_fields(decide("envelope-missing")), "decryption": Decryption.OTHER_FAILED},
    )
    settle(platform, row.tender_id)
    return NotFound(
        "the platform cannot read your stored layer; it is recorded as the platform's fault (withdrawal)",
        code="envelope-missing",
    )


def _recorded_outcome(platform: Platform, row_id: uuid.UUID) -> str | None:
    with platform.session_factory() as session:
        return session.scalar(select(OpeningOutcome.outcome).where(OpeningOutcome.id == row_id))


@contextlib.contextmanager
def own_middle_layer(platform: Platform, tender_id: uuid.UUID, *, bidder_id: uuid.UUID) -> Iterator[BinaryIO]:
    """The caller's own middle-layer envelope (still sealed to its encryption certificate).

    A stored layer that is gone or no longer hashes to its recorded SHA-256 is the platform's fault:
    the envelope is withdrawn (``envelope-missing``, ``other_failed``) and :class:`NotFound` raised.
    """
    row = _waiting_row(platform, tender_id, bidder_id)
    assert row.middle_sha256 is not None
    if not _layer_intact(platform, row.middle_sha256):
        raise _platform_lost(platform, row)
    try:
        stream = platform.blobs.open(row.middle_sha256)
    except (OSError, NotFound):
        raise _platform_lost(platform, row) from None
    with contextlib.closing(stream):
        yield stream


def _ephemeral_recipient() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A throwaway in-memory recipient, so the decrypted layer goes through ``open_bid``'s checks."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealbid opening check")])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(False, False, False, False, True, False, False, False, False)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _layer_summary(platform: Platform, row: OpeningOutcome, summary: dict[str, Any]) -> dict[str, Any]:
    """The signature summary of a decrypted layer, naming the bid's own envelope and layer (not the
    throwaway wrapping :func:`decrypt_layer` checks it through, whose hash differs every time)."""
    try:
        size: int | None = platform.blobs.size(row.envelope_sha256)
    except (OSError, NotFound):
        size = None
    return {
        **summary,
        "bidder_layer": True,
        "envelope_sha256": row.envelope_sha256,
        "envelope_size": size,
        "middle_sha256": row.middle_sha256,
    }


def decrypt_layer(
    platform: Platform,
    tender_id: uuid.UUID,
    *,
    bidder_id: uuid.UUID,
    statement: bytes,
    signature: bytes,
    cek: bytes,
) -> str | None:
    """Open the caller's middle layer with ``cek`` and record the outcome; returns it.

    A key that does not open the layer raises :class:`InvalidInput` (``bidder-key-refused``, logged)
    and changes nothing else: the bidder may retry until the window ends (unless the stored layer
    itself is unreadable or altered: the platform's fault, recorded as such, :class:`NotFound`).
    When the envelope was decided meanwhile (the window's end recorded it first), that recorded
    outcome is returned, not the one this key would have given.
    """
    row = _waiting_row(platform, tender_id, bidder_id)
    assert row.middle_sha256 is not None
    with platform.session_factory() as session:
        checked = verified_statement(
            platform, session, statement, signature, expected_type=DECRYPTION_TYPE, bidder_id=bidder_id
        )
    if (
        checked.fields.get("tender") != str(tender_id)
        or checked.fields.get("middle_sha256") != row.middle_sha256
    ):
        raise InvalidInput("the statement names another tender or layer", code="statement-mismatch")
    clear_stale_scratch(platform)  # what a process killed while decrypting a layer left behind
    with opening_scratch(platform) as scratch, tempfile.TemporaryFile(dir=scratch) as signed:
        try:
            with platform.blobs.open(row.middle_sha256) as middle:
                size = open_with_cek(middle, signed, cek)
        except (OSError, NotFound):
            raise _platform_lost(platform, row) from None
        except CmsError as exc:
            if not _layer_intact(platform, row.middle_sha256):
                raise _platform_lost(platform, row) from None
            with platform.transaction() as session:
                log_event(
                    platform, session, FAILED_ATTEMPT_EVENT, Actor.system(), tender_id, bid=str(row.bid_id)
                )
            raise InvalidInput(
                f"this key does not open your layer: {exc}", code="bidder-key-refused"
            ) from None
        certificate, key = _ephemeral_recipient()
        signed.seek(0)
        with tempfile.TemporaryFile(dir=scratch) as wrapped:
            seal(signed, wrapped, [certificate], content_size=size)
            wrapped.seek(0)
            package_path = scratch / "package.zip"
            verdict = open_bid(
                wrapped,
                certificate,
                key,
                check_certificate=certificate_check(platform),
                expected_tender_id=str(tender_id),
                package_destination=package_path,
                workdir=scratch,
            )
            fields = record_verdict(platform, verdict, package_path)
    fields["decryption"] = Decryption.DECRYPTED
    fields["signature"] = _layer_summary(platform, row, fields.get("signature", {}))
    outcome: str | None = fields["outcome"]
    if not record(platform, row.id, fields):
        # decided meanwhile (the window ended while this layer was being checked): that outcome stands
        outcome = _recorded_outcome(platform, row.id)
    settle(platform, tender_id)
    return outcome


def expire_windows(platform: Platform) -> list[uuid.UUID]:
    """Revoke every envelope whose bidder did not decrypt in time; finish those openings."""
    now = platform.clock.now()
    with platform.session_factory() as session:
        due = list(
            session.scalars(
                select(OpeningSession.tender_id).where(
                    OpeningSession.state == OpeningState.BIDDER_DECRYPTION,
                    OpeningSession.decryption_deadline <= now,
                )
            )
        )
    for tender_id in due:
        with platform.session_factory() as session:
            waiting = session.execute(
                select(OpeningOutcome.id, OpeningOutcome.middle_sha256).where(
                    OpeningOutcome.tender_id == tender_id, OpeningOutcome.outcome.is_(None)
                )
            ).all()
        for row_id, middle_sha256 in waiting:
            if middle_sha256 is not None and not _layer_intact(platform, middle_sha256):
                code, decryption = "envelope-missing", Decryption.OTHER_FAILED  # the platform's fault
            else:
                code, decryption = "bidder-layer-not-decrypted", Decryption.BIDDER_FAILED
            record(platform, row_id, {**decided_fields(decide(code)), "decryption": decryption})
        settle(platform, tender_id)
    return due
