"""The texts an expert hears and reads (zh-CN default, English), and the SMS reply format.

Texts come from ``tendering/i18n/catalogs/<locale>/telephony.toml``. They state the time and place of
the evaluation only, never the project or the tender. An SMS reply is ``<code> 1`` (confirm) or
``<code> 2`` (decline); :func:`parse_reply` also accepts full-width digits, a comma, or no separator.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from experts.telephony.protocol import VoicePrompt
from tendering.i18n import DEFAULT_LOCALE, LOCALES, Catalog

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def catalog_for(locale: str) -> Catalog:
    """The catalog of the expert's locale (the default locale if it is not supported)."""
    return Catalog(locale if locale in LOCALES else DEFAULT_LOCALE)


def format_time(when: datetime, time_zone: str, locale: str) -> str:
    """``when`` in the evaluation's time zone, written for the expert's locale."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, time_zone = ZoneInfo("Asia/Shanghai"), "Asia/Shanghai"
    local = when.astimezone(zone)
    return catalog_for(locale).gettext(
        "telephony.time_format",
        year=local.year,
        month=local.month,
        month_name=_MONTHS[local.month - 1],
        day=local.day,
        hour=local.hour,
        minute=local.minute,
        zone=time_zone,
    )


def voice_prompt(locale: str, when: datetime, time_zone: str, place: str) -> VoicePrompt:
    """What the call says: time and place, press 1 to confirm, 2 to decline."""
    catalog = catalog_for(locale)
    spoken_time = format_time(when, time_zone, locale)
    return VoicePrompt(
        text=catalog.gettext("telephony.voice_prompt", time=spoken_time, place=place),
        language=catalog.gettext("telephony.voice_language"),
        retry_text=catalog.gettext("telephony.voice_retry"),
        goodbye_text=catalog.gettext("telephony.voice_goodbye"),
    )


def voice_reply(locale: str, key: Literal["confirmed", "declined", "closed"]) -> str:
    """What the call says after a keypress settled (or found the confirmation closed)."""
    return catalog_for(locale).gettext(f"telephony.voice_{key}")


def sms_text(locale: str, *, when: datetime, time_zone: str, place: str, code: str, minutes: int) -> str:
    """The SMS with the one-time code and the reply format."""
    return catalog_for(locale).gettext(
        "telephony.sms_code",
        time=format_time(when, time_zone, locale),
        place=place,
        code=code,
        minutes=minutes,
    )


@dataclass(frozen=True)
class Reply:
    """A parsed SMS reply: the code and the choice."""

    code: str
    choice: Literal["1", "2"]


_REPLY = re.compile(r"(\d{4,10})\s*[,，.。#*\s]?\s*([12])")


def parse_reply(body: str, code_length: int) -> Reply | None:
    """``"<code> 1"`` or ``"<code> 2"`` (full-width digits, a comma or no separator accepted), else None."""
    text = unicodedata.normalize("NFKC", body).strip()
    match = _REPLY.fullmatch(text)
    if match is None:
        return None
    code, choice = match.group(1), match.group(2)
    if len(code) != code_length:
        return None
    return Reply(code, "1" if choice == "1" else "2")
