"""Sample public tender views for tests that do not need the tender domain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tendering.search.views import (
    DocumentView,
    LotView,
    Money,
    NoticeView,
    PartyView,
    TenderView,
    Timetable,
)

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def sample_tender(
    *, cancelled: bool = False, amended: bool = True, title: str = "城南道路改造工程施工招标"
) -> TenderView:
    """A works tender in Wuhan with two lots, one document, an amendment and optionally a cancellation."""
    notices = [NoticeView(uuid.uuid4(), "tender", T0, title, f"现对{title}进行公开招标。")]
    if amended:
        notices.append(
            NoticeView(
                uuid.uuid4(), "amendment", T0 + timedelta(days=3), "澄清第1号", "投标截止时间顺延五日。"
            )
        )
    if cancelled:
        notices.append(
            NoticeView(uuid.uuid4(), "cancellation", T0 + timedelta(days=5), "终止公告", "项目资金未落实。")
        )
    return TenderView(
        id=uuid.uuid4(),
        reference="WH-2026-0001",
        title=title,
        project="城南道路改造工程",
        description="道路改造，含排水与照明。",
        category="works",
        region="420100",
        procedure="open_works",
        status="cancelled" if cancelled else "published",
        tenderee=PartyView(uuid.uuid4(), "武汉市城建局", "11420100MB1234567X"),
        agency=PartyView(uuid.uuid4(), "湖北招标代理有限公司", "91420100MA4K000000"),
        published=T0,
        timetable=Timetable(
            document_start=T0,
            document_end=T0 + timedelta(days=7),
            clarification_deadline=T0 + timedelta(days=10),
            bid_deadline=T0 + timedelta(days=25),
            evaluation=T0 + timedelta(days=26),
        ),
        lots=(
            LotView(
                uuid.uuid4(), 1, "一标段：道路", Money(Decimal("12000000.00")), Money(Decimal("11800000.00"))
            ),
            LotView(
                uuid.uuid4(), 2, "二标段：照明", Money(Decimal("3000000.50")), None, Money(Decimal("60000"))
            ),
        ),
        documents=(DocumentView(uuid.uuid4(), "招标文件.pdf", 1024, "ab" * 32, 1, "application/pdf", T0),),
        notices=tuple(notices),
        cancel_reason="项目资金未落实。" if cancelled else None,
    )
