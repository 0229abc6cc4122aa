"""Organisation profiles (legal representative, shareholders) and the related-party test."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from tendering.errors import Forbidden, InvalidInput
from tendering.platform import Platform
from tendering.tenders import reading
from tendering.tenders.organisations import (
    ProfileSpec,
    person_hmac,
    person_key,
    related_parties,
    save_profile,
)
from tests.tenders.conftest import Parties, log_entries
from tests.tenders.helpers import refused, tenderer

ID_ZHANG = "350102198001011234"


def profile(**fields: object) -> ProfileSpec:
    return ProfileSpec.model_validate({"legal_representative": "张三", **fields})


def test_a_profile_keeps_id_numbers_only_as_hmacs(platform: Platform, parties: Parties) -> None:
    saved = save_profile(
        platform,
        profile(
            legal_representative_id_number=ID_ZHANG,
            region="350102",
            shareholders=[
                {
                    "name": "李四",
                    "person_id_number": "350102197001015678",
                    "share_percent": "60",
                    "controlling": True,
                },
                {"name": "海峡控股", "uscc": "91350100MA1DEB9901", "share_percent": "40"},
            ],
        ),
        actor=tenderer(parties),
    )
    assert saved["legal_representative"] == "张三"
    assert ID_ZHANG not in str(saved) and "350102197001015678" not in str(saved)
    key = person_key(platform)
    assert saved["legal_representative_id_hmac"] == person_hmac(key, " 350102 198001011234 ")
    assert saved["shareholders"][0]["share_percent"] == "60.00"
    assert reading.my_profile(platform, tenderer(parties)) == saved
    assert person_key(platform) == key  # made once, then read
    assert log_entries(platform)[-1]["type"] == "organisation.profile_saved"


def test_profile_refusals(platform: Platform, parties: Parties) -> None:
    with pytest.raises(ValidationError, match="more than 100%"):
        profile(shareholders=[{"name": "a", "uscc": "X" * 18, "share_percent": "60"}] * 2)
    both = profile(
        shareholders=[{"name": "a", "uscc": "X" * 18, "person_id_number": ID_ZHANG, "share_percent": "1"}]
    )
    refused(InvalidInput, "shareholder-identity", save_profile, platform, both, actor=tenderer(parties))
    person = parties.actor(parties.authority, "authority")
    refused(Forbidden, "not-an-organisation", save_profile, platform, profile(), actor=person)


def test_related_parties(platform: Platform, parties: Parties) -> None:
    first, second, third = (tenderer(parties, i) for i in range(3))
    save_profile(platform, profile(legal_representative_id_number=ID_ZHANG), actor=first)
    save_profile(platform, profile(legal_representative_id_number=ID_ZHANG.lower()), actor=second)
    with platform.session_factory() as session:
        assert related_parties(session, parties.tenderers[0], parties.tenderers[1]) == [
            "same-legal-representative"
        ]
        assert related_parties(session, parties.tenderers[0], parties.tenderers[2]) == []  # no profile yet
        from tendering.identity.models import Organisation

        first_uscc = session.get(Organisation, parties.tenderers[0]).uscc  # type: ignore[union-attr]
    save_profile(
        platform,
        profile(
            legal_representative="王五",
            shareholders=[
                {"name": "母公司", "uscc": first_uscc, "share_percent": Decimal("51"), "controlling": True}
            ],
        ),
        actor=third,
    )
    with platform.session_factory() as session:
        assert related_parties(session, parties.tenderers[0], parties.tenderers[2]) == [
            "control-relationship"
        ]
