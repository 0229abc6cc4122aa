"""Shortcuts for expert tests: employers' USCCs, a pool written straight to the database, a drawn tender.

Other expert tests (the confirmation) may use :func:`drawn` (fixture) or :func:`draw_for`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crypto.uscc import make_org_code, make_uscc
from experts.extraction import DrawRequest, LineRequest, request_draw
from experts.pool_models import Expert, ExpertAssignment
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tenders import service
from tests.tenders.conftest import Parties
from tests.tenders.helpers import agency, published


def employer_uscc(number: int, region: str = "350102") -> str:
    """A valid USCC of an enterprise (number 0..99999999)."""
    return make_uscc("91" + region + make_org_code(f"{number:08d}"))


@dataclass(frozen=True)
class ExpertSpec:
    """What a test expert looks like (defaults give an active A0101 expert)."""

    specialties: tuple[str, ...] = ("A0101",)
    region: str = "350102"
    employer: int = 1
    status: str = "active"
    #: An explicit employer USCC (else one made from ``employer``).
    uscc: str | None = None


def add_experts(platform: Platform, specs: Iterable[ExpertSpec], *, start: int = 0) -> list[uuid.UUID]:
    """Write experts straight into the pool (names 专家<n>, two phone numbers each)."""
    now = platform.clock.now()
    ids: list[uuid.UUID] = []
    with platform.transaction() as session:
        for offset, spec in enumerate(specs):
            n = start + offset
            expert = Expert(
                id=uuid.uuid4(),
                number=f"E{n:06d}",
                name=f"专家{n}",
                specialties=list(spec.specialties),
                region=spec.region,
                employer_uscc=spec.uscc or employer_uscc(spec.employer, spec.region),
                employer_name=f"单位{spec.employer}",
                title="高级工程师",
                phones=[f"+86138{n:08d}", f"+86139{n:08d}"],
                status=spec.status,
                created_at=now,
                updated_at=now,
            )
            session.add(expert)
            ids.append(expert.id)
    return ids


def many(count: int, **fields: object) -> list[ExpertSpec]:
    """``count`` experts with the same fields, each with its own employer (100 + i)."""
    employer = fields.pop("employer", None)
    return [
        ExpertSpec(**{"employer": employer if employer is not None else 100 + i, **fields})  # type: ignore[arg-type]
        for i in range(count)
    ]


def draw_for(
    platform: Platform,
    clock: ManualClock,
    tender_id: uuid.UUID,
    parties: Parties,
    lines: Sequence[tuple[str, int, int]] = (("A0101", 4, 2),),
    **extra: object,
) -> uuid.UUID:
    """Request and draw a committee for ``tender_id`` (evaluation two days from now)."""
    ask = DrawRequest(
        tender_id=tender_id,
        evaluation_time=clock.now() + timedelta(days=2),
        evaluation_place="福州市公共资源交易中心 3 号评标室",
        lines=[LineRequest(code, count, reserves) for code, count, reserves in lines],
        **extra,  # type: ignore[arg-type]
    )
    return request_draw(platform, ask, actor=agency(parties))


def assignments(platform: Platform, request_id: uuid.UUID) -> list[ExpertAssignment]:
    """The request's assignments, by specialty and rank."""
    with platform.session_factory() as session:
        rows = session.scalars(
            select(ExpertAssignment)
            .where(ExpertAssignment.request_id == request_id)
            .order_by(ExpertAssignment.specialty, ExpertAssignment.rank)
        )
        return list(rows)


@dataclass(frozen=True)
class Drawn:
    """A published tender whose committee (4 members of A0101, 2 reserves) has been drawn."""

    tender_id: uuid.UUID
    request_id: uuid.UUID
    expert_ids: list[uuid.UUID]
    evaluation_time: datetime


@pytest.fixture
def hold_confirmations(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep ``experts.confirm`` messages in the outbox (the draw tests settle assignments themselves).

    Once the confirmation's tasks are registered (another test module imported them), a worker started
    by the app client would otherwise call and settle the drawn experts concurrently with the test.
    """
    monkeypatch.delitem(platform.tasks._actors, "experts.confirm", raising=False)


@pytest.fixture
def drawn(platform: Platform, clock: ManualClock, parties: Parties) -> Drawn:
    """A drawn committee out of a pool of 12 A0101 experts."""
    expert_ids = add_experts(platform, many(12))
    tender_id = published(platform, clock, parties)
    request_id = draw_for(platform, clock, tender_id, parties)
    return Drawn(tender_id, request_id, expert_ids, clock.now() + timedelta(days=2))


def system() -> Actor:
    """The notification worker."""
    return Actor.system()


def end_tender(platform: Platform, parties: Parties, tender_id: uuid.UUID) -> None:
    """Cancel the tender (its draw secret may then be revealed)."""
    service.cancel(platform, tender_id, "项目取消（测试）", actor=agency(parties))
