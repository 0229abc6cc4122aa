"""Organisation profiles and the related-party test of Regs Art. 34.

An organisation declares its legal representative and shareholders (:func:`save_profile`). Personal id
numbers are kept only as HMAC-SHA256 under a platform key (``data_dir/keys/person-id-key``, made on
first use outside production), so the same person can be matched without storing the number.
:func:`related_parties` says why two organisations may not bid on the same lot: the same legal
representative, one controlling the other, or a common controlling shareholder.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy.orm import Session

from tendering.errors import Forbidden, InvalidInput, Unavailable
from tendering.identity.audit import Actor
from tendering.identity.models import Organisation
from tendering.tenders.events import log_event
from tendering.tenders.organisation_models import OrganisationProfile, Shareholder
from tendering.tenders.spec import utc_text

if TYPE_CHECKING:
    from tendering.platform import Platform

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ShareholderSpec(BaseModel):
    """A declared shareholder: an organisation by USCC, or a person by id number (hashed on receipt)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    uscc: Annotated[str, StringConstraints(min_length=18, max_length=18)] | None = None
    person_id_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=40)] | None
    ) = None
    share_percent: Decimal = Field(ge=0, le=100, decimal_places=2)
    controlling: bool = False


class ProfileSpec(BaseModel):
    """What an organisation declares about itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    legal_representative: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    legal_representative_id_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=40)] | None
    ) = None
    region: Annotated[str, StringConstraints(pattern=r"^[1-8][0-9]{5}$")] | None = None
    address: str = Field(default="", max_length=300)
    shareholders: tuple[ShareholderSpec, ...] = Field(default=(), max_length=200)

    @field_validator("shareholders")
    @classmethod
    def _total(cls, value: tuple[ShareholderSpec, ...]) -> tuple[ShareholderSpec, ...]:
        if sum((s.share_percent for s in value), Decimal(0)) > 100:
            msg = "shares sum to more than 100%"
            raise ValueError(msg)
        return value


def person_key(platform: Platform) -> bytes:
    """The platform key of personal id HMACs (created on first use, except in production)."""
    path: Path = platform.settings.data_dir / "keys" / "person-id-key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        if platform.settings.environment == "production":
            raise Unavailable(f"the personal id key {path} is missing", code="person-key-missing") from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


def person_hmac(key: bytes, id_number: str) -> str:
    """HMAC-SHA256 (hex) of a normalised personal id number (no spaces, upper case)."""
    normalised = "".join(id_number.split()).upper()
    return hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def save_profile(platform: Platform, spec: ProfileSpec, *, actor: Actor) -> dict[str, Any]:
    """Create or replace the acting organisation's profile."""
    key = person_key(platform)
    now = platform.clock.now()
    with platform.transaction() as session:
        organisation = session.get(Organisation, actor.identity_id) if actor.identity_id else None
        if organisation is None:
            raise Forbidden("only an organisation has a profile", code="not-an-organisation")
        profile = session.get(OrganisationProfile, organisation.identity_id)
        if profile is None:
            profile = OrganisationProfile(organisation_id=organisation.identity_id)
            session.add(profile)
        profile.legal_representative = spec.legal_representative
        profile.legal_representative_id_hmac = (
            person_hmac(key, spec.legal_representative_id_number)
            if spec.legal_representative_id_number
            else None
        )
        profile.region, profile.address, profile.updated_at = spec.region, spec.address, now
        for s in spec.shareholders:
            if (s.uscc is None) == (s.person_id_number is None):
                raise InvalidInput(
                    f"shareholder {s.name}: give either a USCC or a personal id number",
                    code="shareholder-identity",
                )
        profile.shareholders = [
            Shareholder(
                position=i,
                name=s.name,
                uscc=s.uscc,
                person_id_hmac=person_hmac(key, s.person_id_number) if s.person_id_number else None,
                share_percent=s.share_percent,
                controlling=s.controlling,
            )
            for i, s in enumerate(spec.shareholders)
        ]
        session.flush()
        document = profile_document(session, organisation.identity_id)
        log_event(
            platform,
            session,
            "organisation.profile_saved",
            actor,
            None,
            profile_sha256=hashlib.sha256(bytes(rfc8785.dumps(document))).hexdigest(),
        )
        return document


def profile_document(session: Session, organisation_id: uuid.UUID) -> dict[str, Any]:
    """The profile as JSON (id numbers appear only as HMACs); an empty profile if none was saved."""
    organisation = session.get(Organisation, organisation_id)
    profile = session.get(OrganisationProfile, organisation_id)
    base: dict[str, Any] = {
        "organisation": {
            "id": str(organisation_id),
            "uscc": organisation.uscc if organisation else None,
            "name": organisation.name if organisation else None,
        }
    }
    if profile is None:
        return {**base, "legal_representative": None, "shareholders": [], "updated_at": None}
    return {
        **base,
        "legal_representative": profile.legal_representative,
        "legal_representative_id_hmac": profile.legal_representative_id_hmac,
        "region": profile.region,
        "address": profile.address,
        "updated_at": utc_text(profile.updated_at),
        "shareholders": [
            {
                "name": s.name,
                "uscc": s.uscc,
                "person_id_hmac": s.person_id_hmac,
                "share_percent": f"{s.share_percent:.2f}",
                "controlling": s.controlling,
            }
            for s in profile.shareholders
        ],
    }


def _controllers(profile: OrganisationProfile) -> set[str]:
    return {
        f"uscc:{s.uscc}" if s.uscc else f"person:{s.person_id_hmac}"
        for s in profile.shareholders
        if s.controlling
    }


def related_parties(session: Session, first: uuid.UUID, second: uuid.UUID) -> list[str]:
    """Why two organisations are related bidders (Regs Art. 34); an empty list if they are not."""
    a, b = session.get(OrganisationProfile, first), session.get(OrganisationProfile, second)
    org_a, org_b = session.get(Organisation, first), session.get(Organisation, second)
    if a is None or b is None or org_a is None or org_b is None:
        return []
    reasons = []
    if a.legal_representative_id_hmac and a.legal_representative_id_hmac == b.legal_representative_id_hmac:
        reasons.append("same-legal-representative")
    if f"uscc:{org_a.uscc}" in _controllers(b) or f"uscc:{org_b.uscc}" in _controllers(a):
        reasons.append("control-relationship")
    if _controllers(a) & _controllers(b):
        reasons.append("common-controlling-shareholder")
    return reasons
