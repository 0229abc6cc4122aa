"""The expert pool: validated fields, audited creation and edits.

Every change writes an ``expert_audit`` row (who, when, which fields) and a public log event
``experts.pool_changed`` carrying the expert's opaque id, the action and the changed field names
only - never a name, phone number or employer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.uscc import InvalidUscc, parse_uscc
from experts.draw_public import RESULT_STATES
from experts.pool_models import (
    EXPERT_STATUSES,
    Expert,
    ExpertAudit,
    ExpertParticipation,
    ExpertUnavailability,
)
from experts.sealed_list import log_actor
from experts.specialties import specialties
from tendering.errors import Forbidden, InvalidInput, NotFound
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tenders.models import Tender
from tendering.tenders.procedures import REGION
from tendering.translog.entries import LogEvent

POOL_ROLES: Final = frozenset({"admin", "authority", "console", "system"})
"""Who may change or read the pool (the administrators and the supervising authority)."""
NUMBER: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_PHONES: Final = 5
CHANGED_EVENT: Final = "experts.pool_changed"
#: Fields compared for the audit, in CSV order.
FIELDS: Final = (
    "name",
    "specialties",
    "region",
    "employer_uscc",
    "employer_name",
    "title",
    "phones",
    "status",
    "unavailable",
    "certificate_fingerprint",
)


@dataclass(frozen=True)
class FieldError:
    """Why one field of an expert is refused."""

    column: str
    reason: str


@dataclass(frozen=True)
class ExpertFields:
    """An expert's validated, normalised fields."""

    number: str
    name: str
    specialties: tuple[str, ...]
    region: str
    employer_uscc: str
    employer_name: str = ""
    title: str = ""
    phones: tuple[str, ...] = ()
    status: str = "active"
    unavailable: tuple[tuple[date, date], ...] = ()
    certificate_fingerprint: str | None = None
    person_identity_id: uuid.UUID | None = field(default=None, compare=False)


def normalise_phone(text: str) -> str:
    """The E.164 form of a phone number (mainland China assumed without a country code)."""
    try:
        parsed = phonenumbers.parse(text.strip(), "CN")
    except phonenumbers.NumberParseException as exc:
        msg = f"{text!r} is not a phone number ({exc})"
        raise ValueError(msg) from None
    if not phonenumbers.is_valid_number(parsed):
        msg = f"{text!r} is not a valid phone number"
        raise ValueError(msg)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _date_range(text: str) -> tuple[date, date]:
    start, _, end = text.strip().partition("..")
    first = date.fromisoformat(start.strip())
    last = date.fromisoformat(end.strip()) if end else first
    if last < first:
        msg = f"{text!r}: the range ends before it starts"
        raise ValueError(msg)
    return first, last


def _split(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(";") if part.strip()]


def _check(errors: list[FieldError], column: str, ok: bool, reason: str) -> None:
    if not ok:
        errors.append(FieldError(column, reason))


def parse_fields(raw: Mapping[str, Any]) -> ExpertFields | list[FieldError]:
    """Validate and normalise an expert given as strings (CSV) or JSON; the errors name the column.

    Lists (specialties, phones, unavailable) are ``;``-separated strings or JSON arrays; unavailable
    ranges are ``YYYY-MM-DD`` or ``YYYY-MM-DD..YYYY-MM-DD``.
    """
    errors: list[FieldError] = []
    number = str(raw.get("number") or "").strip()
    _check(errors, "number", bool(NUMBER.fullmatch(number)), "1-64 letters, digits, - or _")
    name = str(raw.get("name") or "").strip()
    _check(errors, "name", 0 < len(name) <= 100, "a name of 1-100 characters")
    codes = [code.upper() for code in _split(raw.get("specialties"))]
    unknown = [code for code in codes if code not in specialties()]
    _check(errors, "specialties", bool(codes), "at least one specialty code")
    _check(errors, "specialties", not unknown, f"unknown specialty code(s) {', '.join(unknown)}")
    region = str(raw.get("region") or "").strip()
    _check(errors, "region", bool(REGION.fullmatch(region)), "a six-digit GB/T 2260 division code")
    uscc = str(raw.get("employer_uscc") or "").strip().upper()
    try:
        parse_uscc(uscc)
    except InvalidUscc as exc:
        errors.append(FieldError("employer_uscc", str(exc)))
    phones: list[str] = []
    given = _split(raw.get("phones"))
    for text in given:
        try:
            phones.append(normalise_phone(text))
        except ValueError as exc:
            errors.append(FieldError("phones", str(exc)))
    _check(errors, "phones", 0 < len(given) <= MAX_PHONES, f"1 to {MAX_PHONES} phone numbers")
    _check(errors, "phones", len(set(phones)) == len(phones), "a phone number appears twice")
    status = str(raw.get("status") or "active").strip().lower()
    _check(errors, "status", status in EXPERT_STATUSES, f"one of {', '.join(EXPERT_STATUSES)}")
    ranges: list[tuple[date, date]] = []
    for text in _split(raw.get("unavailable")):
        try:
            ranges.append(_date_range(text))
        except ValueError as exc:
            errors.append(FieldError("unavailable", f"{text!r}: {exc}"))
    fingerprint = (
        str(raw.get("certificate_sha256") or raw.get("certificate_fingerprint") or "").strip().lower()
    )
    _check(
        errors,
        "certificate_sha256",
        not fingerprint or bool(re.fullmatch(r"[0-9a-f]{64}", fingerprint)),
        "64 hex digits (SHA-256 of the person certificate)",
    )
    employer_name = str(raw.get("employer_name") or "").strip()
    title = str(raw.get("title") or "").strip()
    _check(errors, "employer_name", len(employer_name) <= 300, "at most 300 characters")
    _check(errors, "title", len(title) <= 100, "at most 100 characters")
    if errors:
        return errors
    return ExpertFields(
        number=number,
        name=name,
        specialties=tuple(dict.fromkeys(codes)),
        region=region,
        employer_uscc=uscc,
        employer_name=employer_name,
        title=title,
        phones=tuple(phones),
        status=status,
        unavailable=tuple(sorted(set(ranges))),
        certificate_fingerprint=fingerprint or None,
    )


def require_pool_role(actor: Actor) -> None:
    """Forbidden unless ``actor`` administers or supervises the pool."""
    if actor.role not in POOL_ROLES:
        raise Forbidden(
            "only pool administrators and the authority manage experts", code="expert-pool-forbidden"
        )


def current_values(expert: Expert) -> dict[str, Any]:
    """The comparable values of an expert (for the audit and the export)."""
    return {
        "name": expert.name,
        "specialties": tuple(expert.specialties),
        "region": expert.region,
        "employer_uscc": expert.employer_uscc,
        "employer_name": expert.employer_name,
        "title": expert.title,
        "phones": tuple(expert.phones),
        "status": expert.status,
        "unavailable": tuple((u.start_date, u.end_date) for u in expert.unavailable),
        "certificate_fingerprint": expert.certificate_fingerprint,
    }


def _wanted_values(fields: ExpertFields) -> dict[str, Any]:
    return {name: getattr(fields, name) for name in FIELDS}


def _person_identity(session: Session, fingerprint: str | None) -> uuid.UUID | None:
    if fingerprint is None:
        return None
    from tendering.identity.models import Certificate, Identity  # noqa: PLC0415 - only for the link

    return session.scalar(
        select(Identity.id)
        .join(Certificate, Certificate.identity_id == Identity.id)
        .where(Certificate.fingerprint == fingerprint, Identity.kind == "person")
    )


def upsert(
    session: Session, platform: Platform, fields: ExpertFields, *, actor: Actor, action: str | None = None
) -> tuple[Expert, list[str], bool]:
    """Create the expert with ``fields.number`` or update it; returns it, the changed fields, created.

    Unchanged re-submissions change nothing and log nothing (idempotent import).
    """
    require_pool_role(actor)
    now = platform.clock.now()
    expert = session.scalars(select(Expert).where(Expert.number == fields.number)).first()
    wanted = _wanted_values(fields)
    if expert is None:
        expert = Expert(id=uuid.uuid4(), number=fields.number, created_at=now, updated_at=now)
        session.add(expert)
        changed = list(FIELDS)
        kind = action or "created"
    else:
        before = current_values(expert)
        changed = [name for name in FIELDS if before[name] != wanted[name]]
        kind = action or "updated"
        if not changed:
            return expert, [], False
    expert.name = fields.name
    expert.specialties = list(fields.specialties)
    expert.region = fields.region
    expert.employer_uscc = fields.employer_uscc
    expert.employer_name = fields.employer_name
    expert.title = fields.title
    expert.phones = list(fields.phones)
    expert.status = fields.status
    expert.certificate_fingerprint = fields.certificate_fingerprint
    expert.person_identity_id = _person_identity(session, fields.certificate_fingerprint)
    if "unavailable" in changed:
        expert.unavailable = [
            ExpertUnavailability(id=uuid.uuid4(), start_date=start, end_date=end)
            for start, end in fields.unavailable
        ]
    expert.updated_at = now
    session.flush()
    _audit(session, platform, expert, kind, changed, actor=actor)
    return expert, changed, kind == "created"


def _audit(
    session: Session, platform: Platform, expert: Expert, action: str, changed: Iterable[str], *, actor: Actor
) -> None:
    names = list(changed)
    session.add(
        ExpertAudit(
            id=uuid.uuid4(),
            expert_id=expert.id,
            actor_id=actor.identity_id,
            actor_role=actor.role,
            action=action,
            changed_fields=names,
            at=platform.clock.now(),
        )
    )
    platform.translog.submit(
        session,
        LogEvent(
            CHANGED_EVENT,
            log_actor(actor),
            None,
            {"expert": str(expert.id), "action": action, "fields": names},
        ),
    )


def set_status(
    session: Session, platform: Platform, expert_id: uuid.UUID, status: str, *, actor: Actor
) -> Expert:
    """Suspend, retire or reactivate an expert (audited)."""
    require_pool_role(actor)
    if status not in EXPERT_STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(EXPERT_STATUSES)}", code="expert-status-invalid"
        )
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"no expert {expert_id}", code="expert-unknown")
    if expert.status != status:
        expert.status = status
        expert.updated_at = platform.clock.now()
        session.flush()
        _audit(session, platform, expert, "updated", ["status"], actor=actor)
    return expert


def participation_history(session: Session, expert_id: uuid.UUID, *, actor: Actor) -> list[dict[str, Any]]:
    """An expert's participations (newest first) for the pool administrators and the authority.

    Only participations in tenders whose result is determined or that ended (awarded, cancelled,
    failed) are listed: until then who sits on a committee is confidential (Law Art. 37), from the pool
    administrators too. A participation whose tender was deleted is listed without the tender.
    """
    require_pool_role(actor)
    if session.get(Expert, expert_id) is None:
        raise NotFound(f"no expert {expert_id}", code="expert-unknown")
    rows = session.execute(
        select(ExpertParticipation, Tender.state)
        .outerjoin(Tender, Tender.id == ExpertParticipation.tender_id)
        .where(ExpertParticipation.expert_id == expert_id)
        .order_by(ExpertParticipation.evaluation_date.desc(), ExpertParticipation.recorded_at.desc())
    ).all()
    return [
        {
            "tender": str(p.tender_id) if p.tender_id else None,
            "tenderee_uscc": p.tenderee_uscc,
            "evaluation_date": p.evaluation_date.isoformat(),
            "outcome": p.outcome,
            "recorded_at": p.recorded_at.isoformat(),
        }
        for p, state in rows
        if p.tender_id is None or state in RESULT_STATES
    ]


def expert_document(expert: Expert) -> dict[str, Any]:
    """An expert as JSON for the pool administrators (never served to a tender's parties)."""
    return {
        "id": str(expert.id),
        "number": expert.number,
        "name": expert.name,
        "specialties": list(expert.specialties),
        "region": expert.region,
        "employer_uscc": expert.employer_uscc,
        "employer_name": expert.employer_name,
        "title": expert.title,
        "phones": list(expert.phones),
        "status": expert.status,
        "unavailable": [f"{u.start_date.isoformat()}..{u.end_date.isoformat()}" for u in expert.unavailable],
        "certificate_sha256": expert.certificate_fingerprint,
        "person_identity": str(expert.person_identity_id) if expert.person_identity_id else None,
        "updated_at": expert.updated_at.isoformat(),
    }
