"""The fake Twilio's own webhook signer agrees with Twilio's documented examples (not with the SDK)."""

from __future__ import annotations

import pytest

from tests.experts.fake_twilio import twilio_signature

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


@pytest.mark.parametrize(
    ("caller", "expected"),
    [  # the examples of Twilio's webhook-security documentation and of its SDK's test suite
        ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ],
)
def test_the_documented_signatures(caller: str, expected: str) -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": caller, "Digits": "1234", "From": caller}
    params["To"] = "+18005551212"
    assert twilio_signature("12345", URL, params) == expected


def test_the_signature_covers_the_url_every_parameter_and_the_token() -> None:
    params = {"Digits": "1", "CallSid": "CA1"}
    base = twilio_signature("token", URL, params)
    assert twilio_signature("token", URL, dict(reversed(params.items()))) == base  # sorted, not ordered
    assert twilio_signature("token", URL + "&x=1", params) != base
    assert twilio_signature("token", URL, {**params, "Digits": "2"}) != base
    assert twilio_signature("other", URL, params) != base
