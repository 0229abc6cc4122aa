"""Tender test fixtures: the parties registered from the identity test PKI, actors and a valid spec."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from crypto.pki import BuiltPki
from tendering.identity.audit import Actor
from tendering.identity.checker import DevPki
from tendering.identity.registry import IdentitySummary
from tendering.identity.service import grant_by_certificate
from tendering.platform import Platform
from tendering.tenders.spec import TenderSpec
from tendering.translog.models import LogAudit, LogEntry
from tests.identity.conftest import app_client, dev, test_pki  # noqa: F401 - shared fixtures


def register(platform: Platform, pki: BuiltPki, name: str, role: str) -> IdentitySummary:
    """Register a test PKI participant with ``role`` as the server console would."""
    return grant_by_certificate(
        platform,
        pki.signing(name).certificate.public_bytes(Encoding.DER),
        [role],
        actor=Actor.system("console"),
        basis="console",
    )


@dataclass
class Parties:
    """The identities a tender needs, by role."""

    agency: uuid.UUID
    other_agency: uuid.UUID
    tenderee: uuid.UUID
    tenderee_uscc: str
    authority: uuid.UUID
    custodians: tuple[uuid.UUID, ...]
    tenderers: tuple[uuid.UUID, ...]
    monitor: uuid.UUID
    fingerprints: dict[uuid.UUID, str]

    def actor(self, who: uuid.UUID, role: str, address: str = "192.0.2.10") -> Actor:
        """``who`` acting in ``role`` from ``address``."""
        return Actor(who, role, address)


@pytest.fixture
def parties(platform: Platform, dev: DevPki, test_pki: BuiltPki) -> Parties:  # noqa: F811
    """Register agency, a second agency (the tenderee, which the dev PKI makes an agency too),
    authority, three custodians, tenderers and a monitor."""
    roles = {
        "agency": "agency",
        "tenderee": "agency",
        "reviewer": "authority",
        "custodian-1": "custodian",
        "custodian-2": "custodian",
        "custodian-3": "custodian",
        "tenderer-1": "tenderer",
        "tenderer-2": "tenderer",
        "tenderer-3": "tenderer",
        "monitor": "monitor",
    }
    summaries = {name: register(platform, test_pki, name, role) for name, role in roles.items()}
    ids = {name: summary.id for name, summary in summaries.items()}
    fingerprints = {
        ids[name]: hashlib.sha256(test_pki.signing(name).certificate.public_bytes(Encoding.DER)).hexdigest()
        for name in roles
    }
    return Parties(
        agency=ids["agency"],
        other_agency=ids["tenderee"],
        tenderee=ids["tenderee"],
        tenderee_uscc=summaries["tenderee"].subject_id,
        authority=ids["reviewer"],
        custodians=(ids["custodian-1"], ids["custodian-2"], ids["custodian-3"]),
        tenderers=(ids["tenderer-1"], ids["tenderer-2"], ids["tenderer-3"]),
        monitor=ids["monitor"],
        fingerprints=fingerprints,
    )


def spec_document(parties: Parties, now: datetime, **overrides: Any) -> dict[str, Any]:
    """A valid tender as JSON-like data: published in an hour, deadline 25 days later."""
    publication = now + timedelta(hours=1)
    document: dict[str, Any] = {
        "title": "城南道路改造工程施工招标公告",
        "project_name": "城南道路改造工程",
        "project_code": "FZ-2026-001",
        "description": "道路改造，全长 3.2 公里。",
        "procedure": "open_works",
        "category": "works",
        "region": "350102",
        "tenderee_uscc": parties.tenderee_uscc,
        "qualification_requirements": ["市政公用工程施工总承包二级及以上资质"],
        "lots": [
            {
                "number": 1,
                "name": "第一标段",
                "estimated_price": {"amount": "12500000.00", "currency": "CNY"},
                "ceiling_price": {"amount": "12000000.00", "currency": "CNY"},
                "bid_bond": {"amount": "250000.00", "currency": "CNY"},
            }
        ],
        "evaluation": {
            "method": "comprehensive_scoring",
            "criteria": [
                {"name": "技术标", "kind": "technical", "weight": "40"},
                {"name": "商务标", "kind": "commercial", "weight": "20"},
                {"name": "报价", "kind": "price", "weight": "40"},
            ],
            "committee_size": 5,
            "tenderee_representatives": 1,
        },
        "timetable": {
            "publication_time": publication.isoformat(),
            "document_period_start": publication.isoformat(),
            "document_period_end": (publication + timedelta(days=7)).isoformat(),
            "clarification_deadline": (publication + timedelta(days=10)).isoformat(),
            "bid_deadline": (publication + timedelta(days=25)).isoformat(),
            "evaluation_date": (publication + timedelta(days=26)).isoformat(),
            "publicity_days": 3,
        },
        "opening": {
            "custodians": [str(c) for c in parties.custodians],
            "threshold": 2,
            "bidder_decryption": False,
        },
    }
    for path, value in overrides.items():
        target = document
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[keys[-1]] = value  # type: ignore[index]
    return document


def make_spec(parties: Parties, now: datetime, **overrides: Any) -> TenderSpec:
    """A valid :class:`TenderSpec` (``overrides`` as ``timetable__bid_deadline=...``)."""
    return TenderSpec.model_validate(spec_document(parties, now, **overrides))


def log_entries(platform: Platform) -> list[dict[str, Any]]:
    """Every log entry so far (sequenced now), decoded, with the private audit fields under ``_audit``."""
    import json

    platform.translog.sequence()
    with platform.transaction() as session:
        rows = session.execute(
            select(LogEntry.entry, LogAudit.operator, LogAudit.role, LogAudit.address)
            .join(LogAudit, LogAudit.leaf_index == LogEntry.leaf_index)
            .order_by(LogEntry.leaf_index)
        ).all()
    out = []
    for entry, operator, role, address in rows:
        document = json.loads(entry)
        document["_audit"] = {"operator": operator, "role": role, "address": address}
        out.append(document)
    return out


def log_types(platform: Platform) -> list[str]:
    """Types of every log entry so far."""
    return [entry["type"] for entry in log_entries(platform)]
