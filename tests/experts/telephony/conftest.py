"""Fixtures of the telephony tests: sealbid served over real HTTP with the fake Twilio server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.app import create_app
from api.local_server import free_port, serve_in_thread
from experts.notify_committee import InMemoryCommittee, bind_committee
from experts.telephony import provider_for
from experts.telephony.twilio import INBOUND_SMS_PATH, TwilioProvider
from tendering.clock import ManualClock
from tendering.platform import Platform, build_platform
from tendering.settings import Settings
from tests.experts.fake_twilio import FakeTwilio
from tests.experts.telephony.helpers import committee_of, telephony_settings

ACCOUNT_SID = "AC" + "5e" * 16
TEST_AUTH_TOKEN = "throwaway-test-auth-token-0123456789"  # test material only
OUR_NUMBER = "+8657100000000"


@dataclass
class TwilioWorld:
    """sealbid on a loopback port, the fake Twilio it talks to, and the committee being confirmed."""

    platform: Platform
    fake: FakeTwilio
    committee: InMemoryCommittee
    base_url: str


@pytest.fixture
def twilio_committee() -> InMemoryCommittee:
    return committee_of(members=1, reserves=1)


@contextmanager
def serve_with_fake_twilio(
    settings: Settings, clock: ManualClock, tmp_path: Path, committee: InMemoryCommittee
) -> Iterator[TwilioWorld]:
    """sealbid configured for Twilio at the fake's REST API, served on a loopback port."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    token_file = tmp_path / "twilio-token"
    token_file.write_text(TEST_AUTH_TOKEN + "\n", encoding="utf-8")
    inbound = base_url + INBOUND_SMS_PATH
    with FakeTwilio(ACCOUNT_SID, TEST_AUTH_TOKEN, inbound_sms_url=inbound, number=OUR_NUMBER) as fake:
        configured = telephony_settings(
            settings,
            provider="twilio",
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token_file=token_file,
            twilio_from_number=OUR_NUMBER,
            twilio_api_base_url=fake.base_url,
            public_webhook_base_url=base_url,
        )
        platform = build_platform(configured, clock=clock)
        bind_committee(platform, committee)
        assert isinstance(provider_for(platform), TwilioProvider)
        app = create_app(platform=platform, configure_logs=False, start_worker=True)
        try:
            with serve_in_thread(app, port=port) as url:
                yield TwilioWorld(platform, fake, committee, url)
        finally:
            platform.close()


@pytest.fixture
def twilio_world(
    settings: Settings, clock: ManualClock, tmp_path: Path, twilio_committee: InMemoryCommittee
) -> Iterator[TwilioWorld]:
    """sealbid and the fake Twilio, confirming ``twilio_committee``."""
    with serve_with_fake_twilio(settings, clock, tmp_path, twilio_committee) as world:
        yield world
