"""Telephony providers for the expert confirmation, and which one a platform uses.

:func:`provider_for` returns the provider bound to a platform, building it from
``settings.telephony.provider`` on first use (``memory``, ``simulator`` or ``twilio``). Tests bind their
own with :func:`bind_provider`.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from experts.telephony.memory import InMemoryProvider
from experts.telephony.protocol import ProviderError, ProviderEvent, TelephonyProvider, VoicePrompt
from experts.telephony.simulator import SimulatorProvider
from experts.telephony.twilio import TwilioProvider
from tendering.errors import InvalidInput

if TYPE_CHECKING:
    from tendering.platform import Platform

__all__ = [
    "ProviderError",
    "ProviderEvent",
    "TelephonyProvider",
    "VoicePrompt",
    "bind_provider",
    "build_provider",
    "provider_for",
]

_bound: dict[int, TelephonyProvider] = {}
_lock = threading.Lock()


def build_provider(platform: Platform) -> TelephonyProvider:
    """The provider ``platform.settings.telephony`` names."""
    settings = platform.settings.telephony
    if platform.settings.environment == "production" and settings.provider != "twilio":
        msg = f"production needs a real telephony provider, not {settings.provider!r} ([telephony] provider)"
        raise InvalidInput(msg, code="telephony-config")
    if settings.provider == "twilio":
        return TwilioProvider.from_settings(settings)
    if settings.provider == "simulator":
        return SimulatorProvider.from_settings(settings, platform.clock)
    return InMemoryProvider()


def bind_provider(platform: Platform, provider: TelephonyProvider) -> None:
    """Use ``provider`` for ``platform`` from now on."""
    key = id(platform)
    with _lock:
        _bound[key] = provider
    weakref.finalize(platform, _bound.pop, key, None)


def provider_for(platform: Platform) -> TelephonyProvider:
    """The provider of ``platform`` (built from settings on first use)."""
    with _lock:
        provider = _bound.get(id(platform))
    if provider is None:
        provider = build_provider(platform)
        bind_provider(platform, provider)
    return provider
