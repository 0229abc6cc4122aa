"""Telephony provider webhooks (voice keypresses, SMS replies, delivery reports), signature-checked.

Public routes (the provider is no sealbid identity): every request must carry a valid
``X-Twilio-Signature`` over the full public URL (``[telephony] public_webhook_base_url`` + path) and its
form parameters, else 403 and nothing changes. A webhook about a call or message sealbid did not make is
also 403. A webhook whose event was already recorded (same unique key, or for the voice prompt the
same ``I-Twilio-Idempotency-Token``) is a replay: 403 ``telephony-replayed``, and nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread
from litestar import Request, Response, Router, post
from litestar.types import ControllerRouterHandler

import experts.tasks  # noqa: F401 - registers the confirmation tasks for the in-process worker
from api.auth import PUBLIC
from api.deps import PlatformDep
from experts.notify_events import DUPLICATE, handle_event, is_known
from experts.notify_voice import REPLAYED, gather_twiml, voice_twiml
from experts.telephony import ProviderEvent, provider_for
from experts.telephony.twilio import (
    WEBHOOK_PREFIX,
    TwilioProvider,
    call_status_event,
    empty_twiml,
    gather_event,
    inbound_sms_event,
    sms_status_event,
)
from tendering.errors import Forbidden, NotFound
from tendering.platform import Platform

log = logging.getLogger(__name__)
XML = "application/xml"


async def _verified(
    request: Request[Any, Any, Any], platform: Platform
) -> tuple[TwilioProvider, dict[str, str]]:
    """The provider and the form parameters of a correctly signed Twilio webhook, else 403."""
    provider = provider_for(platform)
    if not isinstance(provider, TwilioProvider):
        raise NotFound("this deployment does not use Twilio", code="telephony-provider")
    form = await request.form()
    params = {key: value for key, value in form.items() if isinstance(value, str)}
    url = provider.url(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    signature = request.headers.get("x-twilio-signature", "")
    if not provider.verify_webhook(url, params, signature):
        log.warning("refused a telephony webhook with a bad signature at %s", request.url.path)
        raise Forbidden("the webhook signature does not verify", code="telephony-signature")
    return provider, params


async def _apply(platform: Platform, event: ProviderEvent) -> str:
    """Apply a status or keypress event about one of our calls or messages (unknown ids: 403)."""
    known = await anyio.to_thread.run_sync(lambda: is_known(platform, event.provider, event.provider_id))
    if not known:
        log.warning("refused a telephony webhook about an unknown id")
        raise Forbidden(
            "the webhook is about no call or message of this platform", code="telephony-unknown-id"
        )
    return _refuse_replay(await anyio.to_thread.run_sync(lambda: handle_event(platform, event)))


def _refuse_replay(result: str) -> str:
    """A webhook whose event was already recorded is a replay (or a retry of an applied one): 403."""
    if result == DUPLICATE:
        log.warning("refused a replayed telephony webhook")
        raise Forbidden("this webhook was already received; nothing changes", code="telephony-replayed")
    return result


def _xml(text: str) -> Response[str]:
    return Response(content=text, media_type=XML)


@post("/voice", status_code=200)
async def voice(request: Request[Any, Any, Any], platform: PlatformDep) -> Response[str]:
    """An answered call asks what to say: the prompt with a one-key gather."""
    provider, params = await _verified(request, platform)
    call_sid = params.get("CallSid", "")
    token = request.headers.get("i-twilio-idempotency-token")
    twiml = await anyio.to_thread.run_sync(lambda: voice_twiml(platform, provider, call_sid, token))
    if twiml is None:
        raise Forbidden("the webhook is about no call of this platform", code="telephony-unknown-id")
    if twiml == REPLAYED:
        _refuse_replay(DUPLICATE)
    return _xml(twiml)


@post("/gather", status_code=200)
async def gather(request: Request[Any, Any, Any], platform: PlatformDep) -> Response[str]:
    """The key the expert pressed: settle on 1 or 2, else prompt again."""
    provider, params = await _verified(request, platform)
    event = gather_event(params, request.headers.get("i-twilio-idempotency-token"))
    result = await _apply(platform, event)
    twiml = await anyio.to_thread.run_sync(
        lambda: gather_twiml(platform, provider, event.provider_id, result)
    )
    return _xml(twiml)


def _status_route(path: str, parse: Callable[[dict[str, str]], ProviderEvent]) -> ControllerRouterHandler:
    async def handler(request: Request[Any, Any, Any], platform: PlatformDep) -> Response[str]:
        _, params = await _verified(request, platform)
        await _apply(platform, parse(params))
        return _xml(empty_twiml())

    handler.__name__ = handler.__qualname__ = path.strip("/").replace("-", "_")
    handler.__doc__ = f"Twilio's {path.strip('/')} callback: record the status once and move on."
    return post(path, status_code=200)(handler)


@post("/sms", status_code=200)
async def inbound_sms(request: Request[Any, Any, Any], platform: PlatformDep) -> Response[str]:
    """An SMS reply ``<code> 1`` / ``<code> 2``; nothing is sent back."""
    _, params = await _verified(request, platform)
    event = inbound_sms_event(params)
    _refuse_replay(await anyio.to_thread.run_sync(lambda: handle_event(platform, event)))
    return _xml(empty_twiml())


def telephony_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module (public: authenticated by the provider's signature)."""
    return [
        Router(
            path=WEBHOOK_PREFIX,
            route_handlers=[
                voice,
                gather,
                _status_route("/call-status", call_status_event),
                _status_route("/sms-status", sms_status_event),
                inbound_sms,
            ],
            opt=PUBLIC,
        )
    ]
