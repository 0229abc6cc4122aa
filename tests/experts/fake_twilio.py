"""A local fake of the Twilio REST API and its webhooks, for tests over real HTTP.

It speaks the subset sealbid uses: ``POST /2010-04-01/Accounts/{sid}/Calls.json`` and
``.../Messages.json`` with form-encoded bodies and HTTP basic auth (account sid and auth token), answering
201 with the JSON Twilio returns (401 with Twilio's error JSON on bad credentials, 400 on a missing
parameter). The test then plays the network and the expert: it drives the webhooks back to the app
exactly as Twilio does — form posts signed with ``X-Twilio-Signature`` (HMAC-SHA1 of the full URL and the
sorted parameters with the auth token) and an ``I-Twilio-Idempotency-Token`` that a retry repeats.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx

API_VERSION = "2010-04-01"


@dataclass
class FakeCall:
    """A call sealbid created."""

    sid: str
    to: str
    from_: str
    url: str
    status_callback: str
    timeout: str
    status: str = "queued"


@dataclass
class FakeMessage:
    """An SMS sealbid sent."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str
    status: str = "queued"


@dataclass
class Webhook:
    """A webhook the fake posted and the app's answer."""

    url: str
    params: dict[str, str]
    status_code: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


class FakeTwilio:
    """The fake server (start with ``with FakeTwilio(...) as fake:``) and the test's driver."""

    def __init__(self, account_sid: str, auth_token: str, *, inbound_sms_url: str, number: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.inbound_sms_url = inbound_sms_url
        self.number = number
        self.calls: dict[str, FakeCall] = {}
        self.messages: dict[str, FakeMessage] = {}
        self.webhooks: list[Webhook] = []
        self.refuse_numbers: set[str] = set()  # Twilio answers 400 (e.g. an invalid "To")
        self.requests = 0
        self._serial = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._http = httpx.Client(timeout=30)

    @property
    def base_url(self) -> str:
        """The REST API base URL (give it as ``twilio_api_base_url``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    # The REST API -------------------------------------------------------------------------------------

    def _sid(self, prefix: str) -> str:
        return f"{prefix}{uuid.uuid4().hex}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {
                    k: v[0]
                    for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()
                }
                status, payload = fake.rest(self.path, self.headers.get("Authorization", ""), form)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def rest(self, path: str, authorization: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer one REST request as Twilio would."""
        with self._lock:
            self.requests += 1
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != expected:
            return 401, {"code": 20003, "message": "Authenticate", "more_info": "", "status": 401}
        prefix = f"/{API_VERSION}/Accounts/{self.account_sid}/"
        if not path.startswith(prefix):
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        resource = path.removeprefix(prefix)
        for name in ("To", "From"):
            if not form.get(name):
                return 400, {
                    "code": 21201 if name == "To" else 21213,
                    "message": f"No '{name}' number is specified",
                    "status": 400,
                }
        if form["To"] in self.refuse_numbers:
            return 400, {
                "code": 21211,
                "message": f"The 'To' number {form['To']} is not a valid phone number.",
                "status": 400,
            }
        if resource == "Calls.json":
            if not form.get("Url"):
                return 400, {"code": 21205, "message": "Url parameter is required.", "status": 400}
            call = FakeCall(
                self._sid("CA"),
                form["To"],
                form["From"],
                form["Url"],
                form.get("StatusCallback", ""),
                form.get("Timeout", "60"),
            )
            with self._lock:
                self.calls[call.sid] = call
            return 201, self._resource(
                call.sid, call.to, call.from_, call.status, {"direction": "outbound-api"}
            )
        if resource == "Messages.json":
            if not form.get("Body"):
                return 400, {"code": 21602, "message": "Message body is required.", "status": 400}
            message = FakeMessage(
                self._sid("SM"), form["To"], form["From"], form["Body"], form.get("StatusCallback", "")
            )
            with self._lock:
                self.messages[message.sid] = message
            return 201, self._resource(
                message.sid, message.to, message.from_, message.status, {"body": message.body}
            )
        return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}

    def _resource(self, sid: str, to: str, from_: str, status: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": from_,
            "status": status,
            "api_version": API_VERSION,
            "date_created": "Mon, 05 Jan 2026 01:00:00 +0000",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/{sid}.json",
            **extra,
        }

    # Webhooks (the network and the expert) -------------------------------------------------------------

    def sign(self, url: str, params: dict[str, str]) -> str:
        """``X-Twilio-Signature`` of a webhook (:func:`twilio_signature`, independent of the adapter's)."""
        return twilio_signature(self.auth_token, url, params)

    def post(
        self, url: str, params: dict[str, str], *, signature: str | None = None, token: str | None = None
    ) -> Webhook:
        """Post a webhook as Twilio does (signed, with an idempotency token) and record the answer."""
        headers = {
            "X-Twilio-Signature": self.sign(url, params) if signature is None else signature,
            "I-Twilio-Idempotency-Token": token or uuid.uuid4().hex,
            "User-Agent": "TwilioProxy/1.1",
        }
        response = self._http.post(url, data=params, headers=headers)
        hook = Webhook(url, params, response.status_code, response.text, headers)
        self.webhooks.append(hook)
        return hook

    def replay(self, hook: Webhook) -> Webhook:
        """Post ``hook`` again, byte for byte (Twilio's retry, or an attacker's replay)."""
        return self.post(
            hook.url,
            hook.params,
            signature=hook.headers["X-Twilio-Signature"],
            token=hook.headers["I-Twilio-Idempotency-Token"],
        )

    def _call_params(self, call: FakeCall, status: str) -> dict[str, str]:
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
        }

    def answer(self, call_sid: str, *presses: str) -> list[Webhook]:
        """The expert answers, hears the prompt and presses each of ``presses`` (following redirects).

        Returns the webhooks posted (the voice fetch, each gather and redirect). The call is not hung up:
        call :meth:`complete` for the final status.
        """
        call = self.calls[call_sid]
        call.status = "in-progress"
        hooks = [self.post(call.url, self._call_params(call, "in-progress"))]
        for digits in presses:
            action = gather_action(hooks[-1].text)
            if action is None:
                break
            hooks.append(
                self.post(
                    action, {**self._call_params(call, "in-progress"), "Digits": digits, "FinishedOnKey": ""}
                )
            )
            redirect = redirect_target(hooks[-1].text)
            if redirect is not None:
                hooks.append(self.post(redirect, self._call_params(call, "in-progress")))
        return hooks

    def complete(self, call_sid: str, status: str = "completed") -> Webhook:
        """The call ends with ``status`` (completed, no-answer, busy, failed, canceled)."""
        call = self.calls[call_sid]
        call.status = status
        params = {**self._call_params(call, status), "CallDuration": "21" if status == "completed" else "0"}
        return self.post(call.status_callback, params)

    def sms_status(self, message_sid: str, status: str) -> Webhook:
        """The carrier reports ``status`` (sent, delivered, undelivered, failed) for an SMS."""
        message = self.messages[message_sid]
        message.status = status
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.to,
        }
        return self.post(message.status_callback, params)

    def inbound_sms(self, from_number: str, body: str) -> Webhook:
        """An SMS from ``from_number`` to our Twilio number."""
        sid = self._sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_number,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": self.number,
        }
        return self.post(self.inbound_sms_url, params)


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's documented webhook signature, written here from the documentation, not the SDK.

    The full URL (with its query string), then every POST parameter sorted by name with its value
    appended directly after it; HMAC-SHA1 of that string (UTF-8) keyed with the auth token; base64.
    The adapter checks with the SDK's ``RequestValidator``: a bug shared with the fake would not hide.
    """
    data = url + "".join(name + value for name, value in sorted(params.items()))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def gather_action(twiml: str) -> str | None:
    """The action URL of the ``<Gather>`` in a TwiML document, if any."""
    gather = ET.fromstring(twiml).find("Gather")
    return None if gather is None else gather.get("action")


def redirect_target(twiml: str) -> str | None:
    """The URL of a ``<Redirect>`` in a TwiML document, if any."""
    redirect = ET.fromstring(twiml).find("Redirect")
    return None if redirect is None else (redirect.text or "").strip()


def spoken(twiml: str) -> list[str]:
    """Every ``<Say>`` text of a TwiML document, in order."""
    return [say.text or "" for say in ET.fromstring(twiml).iter("Say")]
