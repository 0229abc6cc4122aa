"""What experts hear and read, the SMS reply format, and the telephony settings."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from experts.notify_messages import Reply, parse_reply, sms_text, voice_prompt
from experts.telephony.protocol import ProviderError, VoicePrompt
from experts.telephony.simulator import SimulatorProvider
from experts.telephony.twilio import TwilioProvider, prompt_twiml
from tendering.clock import ManualClock
from tendering.errors import InvalidInput
from tendering.telephony_settings import TelephonySettings
from tests.experts.fake_twilio import FakeTwilio, gather_action, spoken

WHEN = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
CATALOGS = Path(__file__).resolve().parents[2] / "tendering" / "i18n" / "catalogs"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("123456 1", Reply("123456", "1")),
        ("  123456   2 ", Reply("123456", "2")),
        ("123456,1", Reply("123456", "1")),
        ("123456，2", Reply("123456", "2")),
        ("1234561", Reply("123456", "1")),
        ("１２３４５６ １", Reply("123456", "1")),
        ("123456 3", None),
        ("12345 1", None),
        ("1234567 1", None),
        ("yes", None),
        ("", None),
        ("123456 1 please", None),
    ],
)
def test_sms_reply_format(body: str, expected: Reply | None) -> None:
    assert parse_reply(body, 6) == expected


def test_texts_state_time_and_place_in_both_languages() -> None:
    zh = voice_prompt("zh-CN", WHEN, "Asia/Shanghai", "评标室2")
    assert "2026年3月2日 08:00" in zh.text and "评标室2" in zh.text and "按1" in zh.text and "按2" in zh.text
    en = voice_prompt("en", WHEN, "Asia/Shanghai", "Room 2")
    assert "2 March 2026 08:00" in en.text and "Press 1" in en.text and en.language == "en-US"
    sms = sms_text("zh-CN", when=WHEN, time_zone="Asia/Shanghai", place="评标室2", code="424242", minutes=120)
    assert "“424242 1”" in sms and "“424242 2”" in sms and "120分钟" in sms
    sms_en = sms_text("en", when=WHEN, time_zone="Asia/Shanghai", place="Room 2", code="424242", minutes=60)
    assert '"424242 1"' in sms_en and '"424242 2"' in sms_en
    # an unknown locale falls back to Chinese, an unknown zone to Shanghai time
    assert "08:00" in voice_prompt("fr", WHEN, "Not/AZone", "x").text


def test_both_catalogs_have_the_same_keys() -> None:
    zh = tomllib.loads((CATALOGS / "zh-CN" / "telephony.toml").read_text(encoding="utf-8"))
    en = tomllib.loads((CATALOGS / "en" / "telephony.toml").read_text(encoding="utf-8"))
    assert zh["telephony"].keys() == en["telephony"].keys()


def test_prompt_twiml_gathers_one_key_and_says_goodbye() -> None:
    prompt = VoicePrompt("正文", "zh-CN", "重试", "再见")
    first = prompt_twiml(prompt, "https://sealbid.example/telephony/twilio/gather", retry=False)
    assert gather_action(first) == "https://sealbid.example/telephony/twilio/gather"
    assert spoken(first) == ["正文", "再见"] and 'numDigits="1"' in first
    assert spoken(prompt_twiml(prompt, "https://x/g", retry=True)) == ["重试", "正文", "再见"]


def test_settings_refuse_inconsistent_values(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        TelephonySettings(simulator_confirm_probability=0.8, simulator_decline_probability=0.3)
    with pytest.raises(ValidationError):
        TelephonySettings(simulator_min_delay_seconds=10, simulator_max_delay_seconds=5)
    with pytest.raises(ValidationError):
        TelephonySettings(code_ttl_seconds=600, sms_reply_timeout_seconds=1200)
    with pytest.raises(ValidationError):
        TelephonySettings(provider="carrier-pigeon")  # type: ignore[arg-type]
    token = tmp_path / "token"
    token.write_text("from-the-file\n", encoding="utf-8")
    assert (
        TelephonySettings(twilio_auth_token_file=token, twilio_auth_token="ignored").twilio_token()
        == "from-the-file"
    )
    assert TelephonySettings(twilio_auth_token="from-env").twilio_token() == "from-env"
    assert TelephonySettings().twilio_token() is None


def test_twilio_needs_every_credential() -> None:
    with pytest.raises(InvalidInput, match=r"twilio_account_sid.*public_webhook_base_url"):
        TwilioProvider.from_settings(
            TelephonySettings(provider="twilio", twilio_auth_token="t", twilio_from_number="+1")
        )


def test_twilio_with_wrong_credentials_is_a_provider_error() -> None:
    with FakeTwilio(
        "AC" + "1" * 32, "right-token", inbound_sms_url="http://127.0.0.1:9/sms", number="+1"
    ) as fake:
        provider = TwilioProvider(
            account_sid="AC" + "1" * 32,
            auth_token="wrong-token",
            from_number="+15005550006",
            public_webhook_base_url="https://sealbid.example",
            api_base_url=fake.base_url,
        )
        with pytest.raises(ProviderError, match="refused"):
            provider.place_call(
                "+8613800000001", VoicePrompt("t", "zh-CN", "r", "g"), ring_timeout_seconds=30
            )
        with pytest.raises(ProviderError):
            provider.send_sms("+8613800000001", "body")
        assert fake.requests == 2 and not fake.calls and not fake.messages


def test_simulator_outcomes_follow_the_clock_and_the_seed() -> None:
    clock = ManualClock()

    def simulator() -> SimulatorProvider:
        return SimulatorProvider(
            clock,
            confirm_probability=0.5,
            decline_probability=0.2,
            sms_reply_probability=1.0,
            min_delay_seconds=10,
            max_delay_seconds=20,
            code_length=6,
            seed=42,
        )

    one, two = simulator(), simulator()
    prompt = VoicePrompt("t", "zh-CN", "r", "g")
    for provider in (one, two):
        for _ in range(20):
            provider.place_call("+8613800000001", prompt, ring_timeout_seconds=30)
        provider.send_sms("+8613800000001", "回复“654321 1”确认")
    assert one.poll(clock.now()) == [] and one.pending() == two.pending() > 0
    later = clock.now() + timedelta(minutes=5)
    events_one, events_two = one.poll(later), two.poll(later)
    assert events_one == events_two and one.pending() == 0
    keys = {(e.kind, e.digits or e.status) for e in events_one}
    assert ("keypress", "1") in keys and ("keypress", "2") in keys
    assert any(e.kind == "sms_inbound" and e.body in ("654321 1", "654321 2") for e in events_one)


def test_production_refuses_the_simulated_providers() -> None:
    from types import SimpleNamespace

    from experts.telephony import build_provider
    from tendering.platform import Platform

    for name in ("simulator", "memory"):
        settings = SimpleNamespace(environment="production", telephony=TelephonySettings(provider=name))
        fake_platform: Platform = SimpleNamespace(settings=settings, clock=ManualClock())  # type: ignore[assignment]
        with pytest.raises(InvalidInput, match="real telephony provider"):
            build_provider(fake_platform)
    development = SimpleNamespace(
        environment="development", telephony=TelephonySettings(provider="simulator")
    )
    assert build_provider(SimpleNamespace(settings=development, clock=ManualClock())).name == "simulator"  # type: ignore[arg-type]
