"""The opening as an OCDS 1.1 release with the bids extension, in the tender's packages and the bulk export,
validated offline against ../shared/data/ocds-1.1 (and the extension's own fields against its schema)."""

# ruff: noqa: F811 - pytest fixtures are imported by name and then requested as parameters

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

from tendering.ocds.opening import BIDS_EXTENSION, opening_release, release_id
from tendering.ocds.schemas import SCHEMA_DIR, validate
from tendering.opening.models import Decryption, Outcome
from tendering.opening.record import publish_opening_record
from tendering.platform import Platform
from tests.opening.hall_fixtures import (  # noqa: F401 - fixtures
    HallTender,
    app_client,
    decide,
    dev,
    finish,
    hall_tender,
    parties,
    release_share,
    test_pki,
)
from tests.tenders.conftest import Parties

#: The bids extension (open-contracting-extensions/ocds_bid_extension v1.1.5) as a JSON merge patch on the
#: release schema: only what a sealbid release uses, written out here so validation stays offline.
BIDS_PATCH: dict[str, Any] = {
    "properties": {
        "bids": {
            "type": "object",
            "properties": {
                "statistics": {"type": "array", "items": {"$ref": "#/definitions/Statistic"}},
                "details": {"type": "array", "items": {"$ref": "#/definitions/Bid"}},
            },
        }
    },
    "definitions": {
        "Statistic": {
            "type": "object",
            "required": ["id", "measure", "value"],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "measure": {"type": "string", "minLength": 1},
                "date": {"type": ["string", "null"], "format": "date-time"},
                "value": {"type": "number"},
                "currency": {"type": ["string", "null"]},
                "notes": {"type": ["string", "null"]},
                "relatedLot": {"type": ["string", "null"]},
            },
        },
        "Bid": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": ["string", "integer"], "minLength": 1},
                "date": {"type": ["string", "null"], "format": "date-time"},
                "status": {
                    "type": ["string", "null"],
                    "enum": ["invited", "pending", "valid", "disqualified", "withdrawn", None],
                },
                "tenderers": {"type": "array", "items": {"$ref": "#/definitions/OrganizationReference"}},
                "value": {"$ref": "#/definitions/Value"},
                "relatedLots": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
        },
    },
}


@cache
def bids_release_validator() -> Draft4Validator:
    schema = json.loads((SCHEMA_DIR / "release-schema.json").read_text(encoding="utf-8"))
    patched = copy.deepcopy(schema)
    patched["properties"].update(BIDS_PATCH["properties"])
    patched["definitions"].update(BIDS_PATCH["definitions"])
    return Draft4Validator(patched, format_checker=FormatChecker())


def published_opening(platform: Platform, hall: HallTender, parties: Parties) -> dict[str, Any]:
    one, two, three = parties.tenderers
    release_share(platform, hall.tender_id, 1)
    release_share(platform, hall.tender_id, 2)
    decide(platform, hall.outcomes[one], Outcome.OPENED, amount="11800000.00", lot_id=hall.lot_id)
    decide(platform, hall.outcomes[two], Outcome.OPENED, amount="11650000.00", lot_id=hall.lot_id)
    decide(platform, hall.outcomes[three], Outcome.REVOKED, decryption=Decryption.BIDDER_FAILED)
    finish(platform, hall.tender_id)
    with platform.transaction() as session:
        record = publish_opening_record(session, platform, hall.tender_id)
        assert record is not None
        return dict(record.ocds_release)


def test_the_opening_release_maps_outcomes_to_bid_statuses(
    platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    release = published_opening(platform, hall_tender, parties)
    assert release["tag"] == ["tenderUpdate"]
    assert release["id"] == release_id(str(hall_tender.tender_id))
    details = {detail["tenderers"][0]["id"]: detail for detail in release["bids"]["details"]}
    one, two, three = (details[str(t)] for t in parties.tenderers)
    assert (one["status"], two["status"], three["status"]) == ("valid", "valid", "disqualified")
    assert one["value"] == {"amount": 11800000.0, "currency": "CNY"}
    assert one["relatedLots"] == [str(hall_tender.lot_id)]
    assert "value" not in three
    statistics = {s["measure"]: s["value"] for s in release["bids"]["statistics"]}
    assert statistics == {
        "bids": 3,
        "validBids": 2,
        "disqualifiedBids": 1,
        "lowestValidBidValue": 11650000.0,
        "highestValidBidValue": 11800000.0,
    }
    tenderers = [party for party in release["parties"] if "tenderer" in party["roles"]]
    assert sorted(p["identifier"]["id"] for p in tenderers) == sorted(
        u for _, u in hall_tender.bidders.values()
    )
    assert validate(release, "release").ok, validate(release, "release").errors
    errors = [error.message for error in bids_release_validator().iter_errors(release)]
    assert errors == []


def test_the_bids_schema_check_would_catch_a_wrong_status() -> None:
    record = {
        "tender": {
            "id": "t",
            "title": "x",
            "tenderee": {"id": "a", "name": "A"},
            "agency": {"id": "a", "name": "A"},
        },
        "lots": [],
        "bid_deadline": "2026-01-01T00:00:00Z",
        "published_at": "2026-01-02T00:00:00Z",
        "bids": [
            {
                "bid": "b1",
                "bidder": {"id": "p1", "name": "P", "uscc": "91350100MA1DEB0001"},
                "lots": [],
                "outcome": "opened",
            }
        ],
    }
    release = opening_release(record)
    assert list(bids_release_validator().iter_errors(release)) == []
    release["bids"]["details"][0]["status"] = "opened"  # not an OCDS bid status
    assert list(bids_release_validator().iter_errors(release)) != []


def test_packages_and_the_bulk_export_carry_the_opening_and_declare_the_extension(
    app_client: Any, platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    tender = hall_tender.tender_id
    before = app_client.get(f"/ocds/tenders/{tender}/releases").json()
    assert all(release["id"] != release_id(str(tender)) for release in before["releases"])  # not before
    published_opening(platform, hall_tender, parties)

    releases = app_client.get(f"/ocds/tenders/{tender}/releases").json()
    assert BIDS_EXTENSION in releases["extensions"]
    assert releases["releases"][-1]["id"] == release_id(str(tender))
    verdict = validate(releases, "release-package")
    assert verdict.ok, verdict.errors

    record = app_client.get(f"/ocds/tenders/{tender}/record").json()
    assert validate(record, "record-package").ok, validate(record, "record-package").errors
    compiled = record["records"][0]["compiledRelease"]
    assert compiled["tender"]["lots"]  # the tender's own details stay...
    assert len(compiled["bids"]["details"]) == 3  # ...and the opening's bids are added
    assert not list(bids_release_validator().iter_errors(compiled))

    bulk = app_client.get("/ocds/releases").json()
    assert validate(bulk, "release-package").ok
    assert release_id(str(tender)) in [release["id"] for release in bulk["releases"]]
