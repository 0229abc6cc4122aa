"""Published tenders written straight into the tender tables, for the portal's read-side tests.

The workflow (draft, review, publication) is the tender domain's and tested there; the portal only reads
what a published tender looks like in the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tendering.db import new_id
from tendering.identity.models import Identity, Organisation
from tendering.platform import Platform
from tendering.tenders.models import Tender, TenderCustodian, TenderLot
from tendering.tenders.notice_models import TenderDocument, TenderNotice

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    """Ids of what was written."""

    tender_id: uuid.UUID
    document_id: uuid.UUID
    notice_ids: tuple[uuid.UUID, ...]


def organisation(platform: Platform, name: str, uscc: str, kind: str = "enterprise") -> uuid.UUID:
    """Register an organisation identity (or return the existing one)."""
    with platform.transaction() as session:
        existing = session.query(Organisation).filter_by(uscc=uscc).one_or_none()
        if existing:
            return existing.identity_id
        identity = Identity(kind="organisation", subject_key=f"uscc:{uscc}", display_name=name, created_at=T0)
        session.add(identity)
        session.flush()
        session.add(Organisation(identity_id=identity.id, uscc=uscc, name=name, kind=kind))
        return identity.id


def published_tender(
    platform: Platform,
    *,
    title: str,
    description: str = "",
    category: str = "works",
    region: str = "420100",
    state: str = "published",
    published: datetime = T0,
    notices: tuple[tuple[str, str, str, timedelta], ...] = (),
    end_reason: str | None = None,
) -> Seeded:
    """Write one published tender with one lot, one released document and ``notices``
    (``(kind, title, body, after publication)``)."""
    agency = organisation(platform, "湖北招标代理有限公司", "91420100MA4K000000", "agency")
    tenderee = organisation(platform, "武汉市城建局", "11420100MB1234567X")
    custodian = organisation(platform, "见证单位", "91420100MA4K000001")
    tender_id, document_id = new_id(), new_id()
    notice_ids = []
    with platform.transaction() as session:
        session.add(
            Tender(
                id=tender_id,
                state=state,
                agency_id=agency,
                tenderee_id=tenderee,
                title=title,
                project_name=title,
                project_code=f"P-{tender_id.hex[:8]}",
                description=description,
                procedure=f"open_{category}" if category != "services" else "open_services",
                category=category,
                region=region,
                time_zone="Asia/Shanghai",
                qualification_requirements=[],
                evaluation_method="lowest_evaluated_price",
                committee_size=5,
                tenderee_representatives=0,
                publication_time=published,
                document_period_start=published,
                document_period_end=published + timedelta(days=7),
                clarification_deadline=published + timedelta(days=10),
                bid_deadline=published + timedelta(days=25),
                evaluation_date=published + timedelta(days=26),
                publicity_days=3,
                opening_threshold=1,
                bidder_decryption=False,
                content_sha256="0" * 64,
                created_at=published,
                updated_at=published,
                submitted_at=published,
                approved_at=published,
                published_at=published,
                public_changed_at=published + max((n[3] for n in notices), default=timedelta(0)),
                end_reason=end_reason,
                end_code="cancelled" if end_reason else None,
            )
        )
        session.flush()
        session.add(
            TenderLot(
                tender_id=tender_id,
                number=1,
                name="一标段",
                currency="CNY",
                estimated_price=Decimal("12000000.00"),
                ceiling_price=Decimal("11800000.00"),
                bid_bond=None,
            )
        )
        session.add(TenderCustodian(tender_id=tender_id, position=1, identity_id=custodian))
        session.add(
            TenderDocument(
                id=document_id,
                tender_id=tender_id,
                name="招标文件.pdf",
                version=1,
                sha256="ab" * 32,
                size=2048,
                media_type="application/pdf",
                uploaded_at=published,
                uploaded_by=agency,
                released_at=published,
            )
        )
        for number, (kind, notice_title, body, after) in enumerate(notices, start=1):
            notice_id = new_id()
            notice_ids.append(notice_id)
            session.add(
                TenderNotice(
                    id=notice_id,
                    tender_id=tender_id,
                    number=number,
                    kind=kind,
                    title=notice_title,
                    body=body,
                    published_at=published + after,
                    content_sha256="1" * 64,
                )
            )
    return Seeded(tender_id, document_id, tuple(notice_ids))
