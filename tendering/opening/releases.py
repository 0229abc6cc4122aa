"""A custodian releases its share after the opening time (server side).

The request carries three things: the ``sealbid.share-release.v1`` statement (RFC 8785 canonical
JSON)::

    {"type": "sealbid.share-release.v1", "tender": str, "index": int, "commitment": 64 hex,
     "opening_certificate_sha256": 64 hex, "nonce": 32..128 of [0-9a-f], "client_time": str}

its detached CMS signature by the custodian's signing certificate, and the share document itself
(the ceremony's ``sealbid.opening-key-share.v1`` plaintext, decrypted on the custodian's machine). The
statement holds no secret; it is stored and logged. The share is checked against the registered
commitment and then held only in memory (:mod:`tendering.opening.vault`).

Accepted only once the tender is closed (the opening time is the deadline), only from a custodian of
that tender, signed by its own registered, active, currently valid signing certificate (the login's
identity). A share that does not match its commitment is refused and recorded with who sent it
(``opening.share_rejected``: role and index, never the share). A repeated release is idempotent.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import rfc8785
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crypto.ceremony import CeremonyError, SharePlaintext, check_share
from crypto.cms import CmsError, Limits, verify_signed
from tendering.bids.opening_key_models import TenderKeyShare, TenderOpeningKey
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound
from tendering.identity.audit import Actor
from tendering.identity.models import CertificatePurpose, CertificateStatus
from tendering.identity.registry import certificate_by_fingerprint, fingerprint_of
from tendering.opening.closing import close_tender
from tendering.opening.models import OpeningSession, OpeningState, ShareRejection, ShareRelease
from tendering.opening.vault import vault_of
from tendering.tenders.events import log_event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tendering.platform import Platform

RELEASE_TYPE: Final = "sealbid.share-release.v1"
RELEASED_EVENT: Final = "opening.share_released"
REJECTED_EVENT: Final = "opening.share_rejected"
MAX_STATEMENT: Final = 4096
MAX_SIGNATURE: Final = 64 * 1024
_FIELDS: Final = {
    "type",
    "tender",
    "index",
    "commitment",
    "opening_certificate_sha256",
    "nonce",
    "client_time",
}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NONCE = re.compile(r"[0-9a-f]{32,128}")
_LIMITS = Limits(max_size=MAX_SIGNATURE, max_metadata=MAX_SIGNATURE)
#: States in which releases are taken: closed (waiting) and opening (a crash lost the held shares).
_RELEASE_STATES: Final = frozenset({OpeningState.CLOSED.value, OpeningState.OPENING.value})


@dataclass(frozen=True)
class ReleaseResult:
    """What a release achieved: its index, whether it was new, and the shares now held in memory."""

    tender_id: uuid.UUID
    index: int
    created: bool
    held: tuple[int, ...]
    threshold: int

    @property
    def ready(self) -> bool:
        """Whether k shares are held: the opening can run."""
        return len(self.held) >= self.threshold


def _malformed(detail: str) -> InvalidInput:
    return InvalidInput(f"the release statement is not acceptable: {detail}", code="release-malformed")


def parse_statement(raw: bytes) -> dict[str, Any]:
    """Parse and check a release statement's form (canonical JSON, exactly the known fields)."""
    if len(raw) > MAX_STATEMENT:
        raise _malformed(f"larger than {MAX_STATEMENT} bytes")
    try:
        fields = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _malformed("not UTF-8 JSON") from None
    if not isinstance(fields, dict) or set(fields) != _FIELDS:
        raise _malformed(f"it must have exactly the fields {', '.join(sorted(_FIELDS))}")
    if fields["type"] != RELEASE_TYPE:
        raise _malformed(f"its type must be {RELEASE_TYPE}")
    if type(fields["index"]) is not int or not 1 <= fields["index"] <= 255:
        raise _malformed("index must be the share index 1..255")
    for name in ("commitment", "opening_certificate_sha256"):
        if not isinstance(fields[name], str) or not _HEX64.fullmatch(fields[name]):
            raise _malformed(f"{name} must be 64 lower-case hex digits")
    if not isinstance(fields["nonce"], str) or not _NONCE.fullmatch(fields["nonce"]):
        raise _malformed("nonce must be 32 to 128 lower-case hex digits")
    if not isinstance(fields["tender"], str) or not isinstance(fields["client_time"], str):
        raise _malformed("tender and client_time must be strings")
    if len(fields["client_time"]) > 40:
        raise _malformed("client_time must be an RFC 3339 time")
    if bytes(rfc8785.dumps(fields)) != raw:
        raise _malformed("not in RFC 8785 canonical form (sign the canonical bytes)")
    return fields


def _signer(platform: Platform, session: Session, raw: bytes, signature: bytes, actor: Actor) -> str:
    if len(signature) > MAX_SIGNATURE:
        raise _malformed(f"the signature is larger than {MAX_SIGNATURE} bytes")
    try:
        verdict = verify_signed(signature, detached_content=raw, limits=_LIMITS)
    except CmsError as exc:
        raise InvalidInput(
            f"the signature is not a CMS SignedData: {exc}", code="release-signature-invalid"
        ) from None
    if not verdict.ok or verdict.signer_certificate is None:
        reasons = "; ".join(verdict.reasons) or "it does not verify"
        raise InvalidInput(f"the release signature is not valid: {reasons}", code="release-signature-invalid")
    der = verdict.signer_certificate.public_bytes(Encoding.DER)
    fingerprint = fingerprint_of(der)
    row = certificate_by_fingerprint(session, fingerprint)
    if row is None or row.identity_id != actor.identity_id or row.purpose != CertificatePurpose.SIGNING.value:
        raise Forbidden(
            "sign the release with your own registered signing certificate", code="release-signer-mismatch"
        )
    if row.status != CertificateStatus.ACTIVE.value:
        raise Forbidden("the signing certificate is revoked on the platform", code="certificate-revoked")
    checked = platform.certificates.validate(der, purpose="signing")
    if not checked.ok:
        raise Forbidden(
            f"the signing certificate is not valid: {checked.message}", code="release-signer-invalid"
        )
    return fingerprint


def _opening(platform: Platform, tender_id: uuid.UUID) -> None:
    """Make sure the tender is closed (close it now if its deadline passed); refuse too early/late."""
    with platform.session_factory() as session:
        row = session.get(OpeningSession, tender_id)
    if row is None:
        closed = close_tender(platform, tender_id)
        if closed is None:
            raise Conflict(
                "the opening time has not come: shares are released only after the bid deadline",
                code="opening-not-due",
            )
        state = closed.state
    else:
        state = row.state
    if state not in _RELEASE_STATES:
        raise Conflict(f"the opening is {state}: no share is needed", code="release-not-needed", state=state)


def _reject(
    platform: Platform, *, tender_id: uuid.UUID, index: int, actor: Actor, code: str, reason: str, raw: bytes
) -> InvalidInput:
    with platform.transaction() as session:
        now = platform.clock.now()
        assert actor.identity_id is not None
        session.add(
            ShareRejection(
                tender_id=tender_id,
                share_index=index,
                custodian_id=actor.identity_id,
                reason_code=code,
                reason=reason,
                statement_sha256=hashlib.sha256(raw).hexdigest(),
                received_at=now,
            )
        )
        log_event(platform, session, REJECTED_EVENT, actor, tender_id, index=index, code=code)
    return InvalidInput(reason, code=code, index=index)


def release_share(
    platform: Platform,
    tender_id: uuid.UUID,
    *,
    statement: bytes,
    signature: bytes,
    share_document: bytes,
    actor: Actor,
) -> ReleaseResult:
    """Check and accept one custodian's share (see the module docstring); holds it in memory."""
    if actor.identity_id is None:
        raise Forbidden("only a logged-in custodian may release a share", code="role-required")
    fields = parse_statement(statement)
    if fields["tender"] != str(tender_id):
        raise _malformed("it names another tender")
    _opening(platform, tender_id)
    with platform.session_factory() as session:
        own = session.scalar(
            select(TenderKeyShare).where(
                TenderKeyShare.tender_id == tender_id, TenderKeyShare.custodian_id == actor.identity_id
            )
        )
        key = session.get(TenderOpeningKey, tender_id)
        if own is None or key is None:
            raise NotFound("you hold no share of this tender's opening key", code="share-unknown")
        fingerprint = _signer(platform, session, statement, signature, actor)
        index, commitment, threshold = own.share_index, own.commitment, key.threshold
        certificate_sha256 = key.certificate_sha256
    if fields["index"] != index or fields["commitment"] != commitment:
        raise _malformed(f"your share is index {index} with commitment {commitment}")
    if fields["opening_certificate_sha256"] != certificate_sha256:
        raise _malformed("it names another opening certificate than this tender's")
    try:
        share = SharePlaintext.from_bytes(share_document)
        if (share.tender, share.index, share.opening_certificate_sha256) != (
            str(tender_id),
            index,
            certificate_sha256,
        ):
            raise CeremonyError("the share document is not this tender's share of your index")
        check_share(share, commitment)
    except CeremonyError as exc:
        raise _reject(
            platform,
            tender_id=tender_id,
            index=index,
            actor=actor,
            code="share-mismatch",
            reason=f"the share is refused: {exc}",
            raw=statement,
        ) from None
    created = _record(
        platform,
        tender_id=tender_id,
        index=index,
        actor=actor,
        statement=statement,
        signature=signature,
        fingerprint=fingerprint,
        commitment=commitment,
    )
    vault_of(platform).hold(tender_id, share)
    return ReleaseResult(tender_id, index, created, vault_of(platform).held(tender_id), threshold)


def _record(
    platform: Platform,
    *,
    tender_id: uuid.UUID,
    index: int,
    actor: Actor,
    statement: bytes,
    signature: bytes,
    fingerprint: str,
    commitment: str,
) -> bool:
    assert actor.identity_id is not None
    try:
        with platform.transaction() as session:
            if session.scalar(
                select(ShareRelease.id).where(
                    ShareRelease.tender_id == tender_id, ShareRelease.share_index == index
                )
            ):
                return False
            digest = hashlib.sha256(statement).hexdigest()
            session.add(
                ShareRelease(
                    tender_id=tender_id,
                    share_index=index,
                    custodian_id=actor.identity_id,
                    statement=statement,
                    signature=signature,
                    statement_sha256=digest,
                    signer_fingerprint=fingerprint,
                    received_at=platform.clock.now(),
                )
            )
            log_event(
                platform,
                session,
                RELEASED_EVENT,
                actor,
                tender_id,
                index=index,
                commitment=commitment,
                statement_sha256=digest,
            )
    except IntegrityError:
        return False  # the same release, recorded by a concurrent request
    return True
