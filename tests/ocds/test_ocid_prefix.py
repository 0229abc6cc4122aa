"""``Settings.ocid_prefix``: every OCID the endpoints serve carries the configured prefix, including the
opening release kept with the opening record."""

# ruff: noqa: F811 - pytest fixtures are imported by name and then requested as parameters

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient
from pydantic import ValidationError

from tendering.ocds.schemas import validate
from tendering.platform import Platform
from tendering.search.views import TenderView
from tendering.settings import Settings, load_settings
from tests.opening.hall_fixtures import (  # noqa: F401 - fixtures
    HallTender,
    dev,
    hall_tender,
    parties,
    test_pki,
)
from tests.opening.test_record import finished_opening, publish
from tests.tenders.conftest import Parties

PREFIX = "ocds-a1b2c3"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ocid_prefix": PREFIX})


def test_every_served_ocid_has_the_configured_prefix(
    portal: TestClient,  # type: ignore[type-arg]
    sample_tenders: list[TenderView],
) -> None:
    bulk = portal.get("/ocds/releases").json()
    assert validate(bulk, "release-package").ok
    assert {release["ocid"] for release in bulk["releases"]} == {f"{PREFIX}-{t.id}" for t in sample_tenders}
    tender = sample_tenders[0]
    releases = portal.get(f"/ocds/tenders/{tender.id}/releases").json()
    assert {release["ocid"] for release in releases["releases"]} == {f"{PREFIX}-{tender.id}"}
    record = portal.get(f"/ocds/tenders/{tender.id}/record").json()["records"][0]
    assert record["ocid"] == record["compiledRelease"]["ocid"] == f"{PREFIX}-{tender.id}"
    assert "ocds-sealbid" not in portal.get("/ocds/releases").text


def test_the_kept_opening_release_is_served_under_the_configured_prefix(
    platform: Platform,
    parties: Parties,
    hall_tender: HallTender,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    finished_opening(platform, hall_tender, parties)
    record = publish(platform, hall_tender)
    assert record.ocds_release["ocid"] == f"ocds-sealbid-{hall_tender.tender_id}"  # as kept
    served = client.get(f"/ocds/tenders/{hall_tender.tender_id}/releases").json()
    assert validate(served, "release-package").ok
    assert {release["ocid"] for release in served["releases"]} == {f"{PREFIX}-{hall_tender.tender_id}"}
    assert "opening-record-" + str(hall_tender.tender_id) in {release["id"] for release in served["releases"]}


@pytest.mark.parametrize("prefix", ["sealbid", "ocds-", "ocds-ABC123", "ocds-ab"])
def test_a_malformed_prefix_is_refused(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(ValidationError, match="ocid_prefix"):
        load_settings(None, data_dir=tmp_path, ocid_prefix=prefix)
