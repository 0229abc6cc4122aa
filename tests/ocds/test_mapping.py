"""OCDS releases, records and packages built from tender views validate against the shared schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tendering.ocds.mapping import ocid, record_package, release_package, releases
from tendering.ocds.schemas import SCHEMA_DIR, validate
from tests.portal.samples import sample_tender

NOW = datetime(2026, 3, 20, tzinfo=UTC)
BASE = "https://portal.example"


def test_schemas_are_the_local_files() -> None:
    assert (SCHEMA_DIR / "release-schema.json").is_file()


@pytest.mark.parametrize("cancelled", [False, True])
def test_one_release_per_published_change(cancelled: bool) -> None:
    tender = sample_tender(cancelled=cancelled)
    items = releases(tender, base_url=BASE)
    expected = [["tender"], ["tenderAmendment"]] + ([["tenderCancellation"]] if cancelled else [])
    assert [item["tag"] for item in items] == expected
    assert {item["ocid"] for item in items} == {ocid(tender)}
    assert [item["id"] for item in items] == [str(n.id) for n in tender.notices]
    for item in items:
        verdict = validate(item, "release")
        assert verdict.ok, verdict.errors
    assert items[0]["tender"]["status"] == "active"
    assert items[-1]["tender"]["status"] == ("cancelled" if cancelled else "active")
    assert "amendments" not in items[0]["tender"]
    assert len(items[1]["tender"]["amendments"]) == 1


def test_release_content() -> None:
    tender = sample_tender()
    first = releases(tender, base_url=BASE)[0]
    assert first["tender"]["mainProcurementCategory"] == "works"
    assert first["tender"]["procurementMethod"] == "open"
    assert first["tender"]["tenderPeriod"]["endDate"] == "2026-03-27T01:30:00Z"
    assert [lot["title"] for lot in first["tender"]["lots"]] == ["一标段：道路", "二标段：照明"]
    assert first["tender"]["value"] == {"amount": 15000000.5, "currency": "CNY"}
    roles = {party["name"]: party["roles"] for party in first["parties"]}
    assert roles == {"武汉市城建局": ["buyer"], "湖北招标代理有限公司": ["procuringEntity"]}


def test_release_package_validates() -> None:
    items = [r for t in (sample_tender(), sample_tender(cancelled=True)) for r in releases(t, base_url=BASE)]
    package = release_package(items, uri=f"{BASE}/ocds/releases", published=NOW, publisher="sealbid")
    verdict = validate(package, "release-package")
    assert verdict.ok, verdict.errors


def test_record_package_validates() -> None:
    tender = sample_tender(cancelled=True)
    package = record_package(
        tender, uri=f"{BASE}/ocds/records/x", base_url=BASE, published=NOW, publisher="sealbid"
    )
    verdict = validate(package, "record-package")
    assert verdict.ok, verdict.errors
    record = package["records"][0]
    assert record["compiledRelease"]["tag"] == ["compiled"]
    assert record["compiledRelease"]["tender"]["status"] == "cancelled"


def test_invalid_documents_are_refused_with_reasons() -> None:
    item = releases(sample_tender(), base_url=BASE)[0]
    item["tag"] = ["not-a-tag"]
    del item["date"]
    verdict = validate(item, "release")
    assert not verdict.ok
    assert any("date" in reason for reason in verdict.errors)
    package = release_package([{"ocid": 5}], uri="u", published=NOW, publisher="p")
    assert not validate(package, "release-package").ok
