"""``Settings.procedure_table_file``: the platform loads its own procedure table once, every rule check
reads it, and a bad file stops the start-up with a clear error."""

from __future__ import annotations

import uuid
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tendering.clock import ManualClock
from tendering.errors import InvalidInput
from tendering.platform import Platform, build_platform
from tendering.settings import Settings
from tendering.tenders import service
from tendering.tenders.procedures import ProcedureTableError, default_table
from tendering.tenders.rules import check_spec
from tendering.tenders.schedule import tick
from tendering.tenders.store import load
from tests.tenders.conftest import Parties, make_spec
from tests.tenders.helpers import agency, authority, draft, refused, state_of

SHIPPED = resources.files("tendering.tenders").joinpath("procedures.toml").read_text(encoding="utf-8")
#: Fuzhou (350100, containing the test tender's region 350102) allows bid bonds of 1% only, and the whole
#: table asks 30 days from the documents to the deadline and four bids to open.
OVERRIDES = """
[jurisdictions.350100]
name = { zh-CN = "福州市", en = "Fuzhou" }
[jurisdictions.350100.defaults]
bid_bond_max_percent = "1"
"""


def local_table(tmp_path: Path) -> Path:
    text = SHIPPED.replace("min_days_issue_to_deadline = 20 ", "min_days_issue_to_deadline = 30 ")
    text = text.replace("min_bids = 3 ", "min_bids = 4 ")
    assert text != SHIPPED
    path = tmp_path / "procedures-local.toml"
    path.write_text(text + OVERRIDES, encoding="utf-8")
    return path


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"procedure_table_file": local_table(tmp_path)})


def test_the_settings_table_decides_the_rule_checks(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    spec = make_spec(parties, clock.now())  # 25 days to the deadline, a bond of 2% of the estimate
    shipped = default_table().rules(spec.procedure, spec.region)
    assert check_spec(spec, shipped, clock.now()) == []  # valid under the shipped table
    rules = platform.procedures.rules(spec.procedure, spec.region)
    assert rules.jurisdictions == ("350100",)
    assert (rules.min_days_issue_to_deadline, rules.bid_bond_max_percent, rules.min_bids) == (30, 1, 4)
    tender_id = draft(platform, clock, parties).summary.id
    error = refused(
        InvalidInput, "bid-period-too-short", service.submit, platform, tender_id, actor=agency(parties)
    )
    codes = {violation["code"] for violation in error.extra["violations"]}
    assert codes == {"bid-period-too-short", "bid-bond-too-high"}
    with platform.session_factory() as session:  # the agency's dry run reads the same table
        dry_run = service.check_rules(session, load(session, tender_id), clock.now(), platform.procedures)
    assert {violation.code for violation in dry_run} == codes


def test_fail_if_too_few_bids_reads_the_settings_table(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published_under_local_rules(platform, clock, parties)
    clock.advance(timedelta(days=40))
    assert service.fail_if_too_few_bids(platform, tender_id, 3) is True  # the shipped table needs 3
    assert state_of(platform, tender_id) == "failed"


def published_under_local_rules(platform: Platform, clock: ManualClock, parties: Parties) -> uuid.UUID:
    """A tender valid under the local table (35 days to the deadline, a bond of 1%), published."""
    start = clock.now() + timedelta(hours=1)
    overrides = {
        "lots__0__bid_bond__amount": "125000.00",
        "timetable__bid_deadline": (start + timedelta(days=35)).isoformat(),
        "timetable__evaluation_date": (start + timedelta(days=36)).isoformat(),
    }
    tender_id = draft(platform, clock, parties, **overrides).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    service.approve(platform, tender_id, actor=authority(parties))
    clock.advance(timedelta(hours=1))
    tick(platform)
    assert state_of(platform, tender_id) == "published"
    return tender_id


def test_the_public_procedure_table_is_the_platforms(client: TestClient) -> None:  # type: ignore[type-arg]
    rows = client.get("/public/procedures", params={"region": "350102"}).json()
    works = next(row for row in rows if row["procedure"] == "open_works")
    assert works["bid_bond_max_percent"] == "1"
    assert works["min_days_issue_to_deadline"] == 30


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("[defaults\nmin_bids = 3", "not valid TOML"),
        (SHIPPED + "\n[surprise]\nx = 1\n", "unknown top-level keys"),
        (SHIPPED.replace('bid_bond_max_percent = "2"', "bid_bond_max_percent = 2.5"), "no binary floats"),
        (SHIPPED + '\n[jurisdictions.99]\nname = { en = "x" }\n', "not a division code"),
        ("[defaults]\nmin_bids = 3\n", "defines no"),
    ],
)
def test_a_bad_table_stops_the_start_up(
    settings: Settings, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "bad.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ProcedureTableError, match=message) as caught:
        build_platform(settings.model_copy(update={"procedure_table_file": path}), clock=ManualClock())
    assert str(path) in str(caught.value)
