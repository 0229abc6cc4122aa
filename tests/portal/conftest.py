"""A portal client over injected public tender views (no tender domain needed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar.testing import TestClient

from tendering.platform import Platform
from tendering.search.memory import InMemoryPublicTenders
from tendering.search.views import TenderView
from tests.portal.samples import sample_tender


@pytest.fixture
def sample_tenders() -> list[TenderView]:
    """Three tenders: Chinese works in Wuhan (amended), goods in Xiamen (cancelled), services in Shanghai."""
    from dataclasses import replace

    roads = sample_tender()
    laptops = replace(
        sample_tender(cancelled=True, amended=False, title="区教育局笔记本电脑采购"),
        category="goods",
        region="350200",
        project="教育信息化采购",
        description="采购笔记本电脑二百台。",
    )
    laptops = replace(laptops, lots=(replace(laptops.lots[0], title="笔记本电脑"),))
    cleaning = sample_tender(amended=False, title="Office cleaning services 办公楼保洁服务")
    cleaning = replace(
        cleaning,
        tenderee=replace(cleaning.tenderee, name="上海市机关事务管理局"),
        lots=(replace(cleaning.lots[0], title="一标段：保洁"),),
        category="services",
        region="310101",
        project="办公楼保洁",
        description="Cleaning of the municipal office building.",
        published=cleaning.published + timedelta(days=10),
        notices=tuple(replace(n, published=n.published + timedelta(days=10)) for n in cleaning.notices),
    )
    return [roads, laptops, cleaning]


@pytest.fixture
def portal(platform: Platform, sample_tenders: list[TenderView]) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A test client whose portal reads the sample tenders."""
    from api.app import create_app

    app = create_app(platform=platform, configure_logs=False)
    app.state.public_tenders = InMemoryPublicTenders(sample_tenders)
    with TestClient(app) as client:
        yield client
