"""The procedure table: defaults from rules.md, jurisdiction overrides, and a broken table refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from tendering.errors import InvalidInput, NotFound
from tendering.tenders.procedures import ProcedureTable, default_table, region_chain


def test_the_defaults_are_those_of_rules_md() -> None:
    rules = default_table().rules("open_works")
    assert rules.min_days_issue_to_deadline == 20
    assert rules.amendment_min_days_before_deadline == 15
    assert rules.opening_at_deadline is True
    assert rules.min_bids == 3
    assert rules.candidates_publish_within_days == 3
    assert rules.candidate_publicity_min_days == 3
    assert rules.award_publicity_days == 5
    assert rules.objection_answer_days == 3
    assert (rules.committee_min_size, rules.committee_size_odd) == (5, True)
    assert rules.experts_min_fraction == Fraction(2, 3)
    assert rules.bid_bond_max_percent == Decimal(2)
    assert rules.contract_within_days == 30
    assert rules.bad_record_publish_within_days == 7
    assert rules.min_days("min_days_issue_to_deadline") == timedelta(days=20)
    assert rules.step("review").limit == timedelta(hours=72)
    assert rules.step("review").warn_before == timedelta(hours=24)


def test_every_procedure_type_is_listed_with_names() -> None:
    table = default_table()
    assert table.procedures == (
        "open_works",
        "open_goods",
        "open_services",
        "invited_works",
        "invited_goods_services",
    )
    assert table.rules("open_goods").categories == ("goods",)
    assert table.rules("invited_works").supported is False
    assert table.rules("open_works").name["zh-CN"] == "公开招标（工程）"


def test_jurisdiction_overrides_apply_inside_their_division() -> None:
    table = default_table()
    xiamen_district = table.rules("open_works", "350203")
    assert xiamen_district.jurisdictions == ("350200",)
    assert xiamen_district.step("review").limit == timedelta(hours=48)
    assert xiamen_district.step("publication").limit == timedelta(hours=1)  # untouched values inherited
    fuzhou = table.rules("open_works", "350102")
    assert fuzhou.jurisdictions == () and fuzhou.step("review").limit == timedelta(hours=72)


def test_most_specific_jurisdiction_wins() -> None:
    document: dict[str, Any] = {
        "defaults": _minimal_defaults(),
        "procedures": {"open_works": {"name": {"zh-CN": "x"}, "method": "open", "categories": ["works"]}},
        "jurisdictions": {
            "420000": {"defaults": {"min_bids": 4, "award_publicity_days": 6}},
            "420100": {"procedures": {"open_works": {"min_bids": 5}}},
        },
    }
    table = ProcedureTable(document)
    wuhan = table.rules("open_works", "420102")
    assert (wuhan.min_bids, wuhan.award_publicity_days, wuhan.jurisdictions) == (5, 6, ("420000", "420100"))
    assert table.rules("open_works", "421000").min_bids == 4


def test_region_chain() -> None:
    assert region_chain("350203") == ("350000", "350200", "350203")
    assert region_chain("350000") == ("350000",)
    with pytest.raises(InvalidInput) as caught:
        region_chain("35")
    assert caught.value.code == "region-invalid"


def test_unknown_procedure_and_step() -> None:
    with pytest.raises(InvalidInput) as caught:
        default_table().rules("negotiated")
    assert caught.value.code == "procedure-unknown"
    with pytest.raises(NotFound) as missing:
        default_table().rules("open_works").step("teleport")
    assert missing.value.code == "step-unknown"


def _minimal_defaults() -> dict[str, Any]:
    return {
        key: value
        for key, value in default_table().rules("open_works").model_dump().items()
        if key not in ("procedure", "region", "jurisdictions", "name", "method", "categories", "supported")
    } | {"experts_min_fraction": "2/3", "bid_bond_max_percent": "2"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"defaults": {"bid_bond_max_percent": 2.0}}, "no binary floats"),
        ({"defaults": {"min_bids": 0}}, "greater than or equal to 1"),
        ({"defaults": {"surprise": 1}}, "Extra inputs"),
        ({"jurisdictions": {"xiamen": {}}}, "not a division code"),
        ({"oops": {}}, "unknown top-level keys"),
    ],
)
def test_a_broken_table_is_refused_at_load(change: dict[str, Any], message: str) -> None:
    document: dict[str, Any] = {
        "defaults": _minimal_defaults(),
        "procedures": {"open_works": {"name": {"zh-CN": "x"}, "method": "open", "categories": ["works"]}},
    }
    for key, value in change.items():
        if key == "defaults":
            document["defaults"] = document["defaults"] | value
        else:
            document[key] = value
    with pytest.raises(ValueError, match=message):
        ProcedureTable(document)


def test_load_from_a_file(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "tendering" / "tenders" / "procedures.toml"
    copy = tmp_path / "procedures.toml"
    copy.write_text(
        shipped.read_text(encoding="utf-8").replace("min_bids = 3", "min_bids = 4"), encoding="utf-8"
    )
    assert ProcedureTable.load(copy).rules("open_goods").min_bids == 4
