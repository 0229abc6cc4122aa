"""Every rule of the procedure table, one violation at a time (no database needed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tendering.errors import InvalidInput
from tendering.tenders.procedures import default_table
from tendering.tenders.rules import check_spec, refuse
from tendering.tenders.spec import TenderSpec
from tests.tenders.conftest import Parties, spec_document

NOW = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
PUB = NOW + timedelta(hours=1)
PARTIES = Parties(
    agency=uuid.uuid4(),
    other_agency=uuid.uuid4(),
    tenderee=uuid.uuid4(),
    tenderee_uscc="91350100MA1DEB3001",
    authority=uuid.uuid4(),
    custodians=(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()),
    tenderers=(),
    monitor=uuid.uuid4(),
    fingerprints={},
)


def spec(**overrides: Any) -> TenderSpec:
    return TenderSpec.model_validate(spec_document(PARTIES, NOW, **overrides))


def codes(the_spec: TenderSpec, now: datetime = NOW) -> list[str]:
    rules = default_table().rules(the_spec.procedure, the_spec.region)
    return [v.code for v in check_spec(the_spec, rules, now)]


def iso(when: datetime) -> str:
    return when.isoformat()


def test_the_sample_spec_obeys_every_rule() -> None:
    assert codes(spec()) == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        # Law Art. 24: at least 20 days from document issue to the deadline
        ({"timetable__bid_deadline": iso(PUB + timedelta(days=19, hours=23))}, "bid-period-too-short"),
        # Regs Art. 16: documents obtainable for at least 5 days
        ({"timetable__document_period_end": iso(PUB + timedelta(days=4))}, "document-period-too-short"),
        ({"timetable__document_period_end": iso(PUB + timedelta(days=26))}, "document-period-after-deadline"),
        ({"timetable__document_period_start": iso(PUB - timedelta(hours=1))}, "documents-before-publication"),
        # Regs Art. 22: questions close at least 10 days before the deadline
        (
            {"timetable__clarification_deadline": iso(PUB + timedelta(days=16))},
            "clarification-deadline-too-late",
        ),
        (
            {"timetable__clarification_deadline": iso(PUB - timedelta(hours=1))},
            "clarification-deadline-before-publication",
        ),
        ({"timetable__evaluation_date": iso(PUB + timedelta(days=24))}, "evaluation-before-deadline"),
        ({"timetable__publicity_days": 2}, "publicity-too-short"),
        # Regs Art. 26: bid bond at most 2% of the estimate (12,500,000.00 -> 250,000.00)
        ({"lots__0__bid_bond": {"amount": "250000.01"}}, "bid-bond-too-high"),
        ({"lots__0__bid_bond": {"amount": "-1.00"}}, "bid-bond-negative"),
        ({"lots__0__ceiling_price": {"amount": "12500000.01"}}, "ceiling-above-estimate"),
        ({"lots__0__ceiling_price": {"amount": "0"}}, "ceiling-not-positive"),
        (
            {
                "lots__0__estimated_price": {"amount": "0"},
                "lots__0__ceiling_price": None,
                "lots__0__bid_bond": None,
            },
            "estimate-not-positive",
        ),
        (
            {
                "lots__0__estimated_price": {"amount": "100", "currency": "USD"},
                "lots__0__ceiling_price": None,
                "lots__0__bid_bond": None,
            },
            "currency-not-allowed",
        ),
        # weights sum to 100
        ({"evaluation__criteria__0__weight": "39.99"}, "criteria-weights-not-100"),
        ({"evaluation__criteria": []}, "criteria-missing"),
        (
            {"evaluation__criteria__1__weight": "0", "evaluation__criteria__0__weight": "60"},
            "criterion-weight-invalid",
        ),
        ({"evaluation__criteria__1__name": "技术标"}, "criterion-duplicate"),
        # Law Art. 37: committee of at least 5, odd, experts at least 2/3
        ({"evaluation__committee_size": 3}, "committee-too-small"),
        ({"evaluation__committee_size": 6}, "committee-size-even"),
        ({"evaluation__tenderee_representatives": 2}, "committee-too-few-experts"),
        # opening policy
        ({"opening__threshold": 4}, "threshold-above-custodians"),
        ({"opening__threshold": 1}, "threshold-too-low"),
        ({"opening__custodians": [str(PARTIES.custodians[0])] * 3}, "custodian-duplicate"),
        ({"opening__custodians": [str(c) for c in PARTIES.custodians[:2]]}, "custodians-too-few"),
        ({"category": "goods"}, "category-not-allowed"),
        ({"procedure": "invited_works"}, "procedure-not-supported"),
        ({"qualification_requirements": ["  "]}, "qualification-missing"),
    ],
)
def test_each_rule_violation_has_its_code(overrides: dict[str, Any], code: str) -> None:
    assert code in codes(spec(**overrides))


def test_a_second_lot_with_the_same_number() -> None:
    document = spec_document(PARTIES, NOW)
    document["lots"].append(dict(document["lots"][0], name="第二标段"))
    assert codes(TenderSpec.model_validate(document)) == ["lot-number-duplicate"]


def test_bond_exactly_at_two_percent_and_lowest_price_without_criteria() -> None:
    assert codes(spec(**{"lots__0__bid_bond": {"amount": "250000.00"}})) == []
    assert codes(spec(evaluation__method="lowest_evaluated_price", evaluation__criteria=[])) == []


def test_deadline_exactly_20_days_after_issue_is_allowed() -> None:
    assert (
        codes(
            spec(
                timetable__bid_deadline=iso(PUB + timedelta(days=20)),
                timetable__evaluation_date=iso(PUB + timedelta(days=21)),
                timetable__clarification_deadline=iso(PUB + timedelta(days=10)),
            )
        )
        == []
    )


def test_the_timetable_is_checked_as_it_would_run_from_now() -> None:
    """A publication time in the past becomes now; so do documents issued before it."""
    later = NOW + timedelta(days=6)
    assert "bid-period-too-short" in codes(spec(), now=later)


def test_refuse_reports_the_first_code_and_lists_all() -> None:
    the_spec = spec(timetable__publicity_days=1, evaluation__committee_size=4)
    rules = default_table().rules("open_works", "350102")
    with pytest.raises(InvalidInput) as caught:
        refuse(check_spec(the_spec, rules, NOW))
    assert caught.value.code == "publicity-too-short"
    assert [v["code"] for v in caught.value.extra["violations"]] == [
        "publicity-too-short",
        "committee-too-small",
        "committee-size-even",
    ]
    refuse([])  # nothing to refuse


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lots__0__estimated_price": {"amount": 12500000.5}}, "never as binary floats"),
        ({"lots__0__estimated_price": {"amount": "1.005"}}, "at most two decimal places"),
        ({"lots__0__bid_bond": {"amount": "100.00", "currency": "USD"}}, "one currency"),
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"region": "3501"}, "pattern"),
        ({"lots": []}, "at least 1"),
        ({"surprise": 1}, "Extra inputs"),
        ({"evaluation__criteria__0__weight": 40.0}, "never as binary floats"),
    ],
)
def test_shape_errors_are_refused_before_any_rule(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(**overrides)


def test_times_without_a_zone_are_read_in_the_tenders_zone() -> None:
    unzoned = spec(timetable__bid_deadline="2026-02-01T09:30:00")
    assert unzoned.time_zone is None  # the platform's default zone is filled in by the service
    with pytest.raises(ValueError, match="no time zone yet"):
        unzoned.sha256()
    the_spec = unzoned.with_zone("Asia/Shanghai")
    assert the_spec.time_zone == "Asia/Shanghai"
    assert the_spec.timetable.bid_deadline == datetime(2026, 2, 1, 1, 30, tzinfo=UTC)
    assert unzoned.with_zone("Europe/Berlin").timetable.bid_deadline == datetime(
        2026, 2, 1, 8, 30, tzinfo=UTC
    )
    urumqi = spec(time_zone="Asia/Urumqi", timetable__bid_deadline="2026-02-01T09:30:00")
    assert urumqi.timetable.bid_deadline == datetime(2026, 2, 1, 3, 30, tzinfo=UTC)
    assert urumqi.with_zone("Europe/Berlin") is urumqi  # a zone the spec names is kept


def test_money_is_decimal_and_the_content_hash_is_stable() -> None:
    first, second = spec().with_zone("Asia/Shanghai"), spec().with_zone("Asia/Shanghai")
    assert first.lots[0].estimated_price.amount == Decimal("12500000.00")
    assert first.sha256() == second.sha256()
    assert b'"amount":"12500000.00"' in first.canonical()
    assert spec(title="另一个").with_zone("Asia/Shanghai").sha256() != first.sha256()
