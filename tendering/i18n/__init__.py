"""Message catalogs for user-facing text (zh-CN default, English) and language negotiation.

Text shown to people never lives in code paths: code names a message by key (``portal.search``) and a
:class:`Catalog` gives the text for a locale. Catalogs are TOML files next to this module, one per locale,
with the same keys (a test checks it); a key missing from a non-default catalog falls back to the default
locale, and a key missing everywhere is returned as is so a gap is visible, never a crash.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

#: Locales sealbid ships catalogs for, the default first.
LOCALES: Final[tuple[str, ...]] = ("zh-CN", "en")
DEFAULT_LOCALE: Final[str] = "zh-CN"
_CATALOG_DIR = Path(__file__).resolve().parent / "catalogs"


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(name, value, out)
        else:
            out[name] = str(value)


@cache
def load_messages(locale: str) -> Mapping[str, str]:
    """The flattened ``key -> text`` table of one locale: ``<locale>.toml`` plus ``<locale>/*.toml``.

    Each capability may keep its texts in its own file under the locale's folder; a key defined twice is
    an error, so one file can never silently override another.
    """
    if locale not in LOCALES:
        msg = f"no catalog for locale {locale!r}"
        raise ValueError(msg)
    messages: dict[str, str] = {}
    for path in [_CATALOG_DIR / f"{locale}.toml", *sorted((_CATALOG_DIR / locale).glob("*.toml"))]:
        with path.open("rb") as handle:
            part: dict[str, str] = {}
            _flatten("", tomllib.load(handle), part)
        if clash := sorted(messages.keys() & part.keys()):
            msg = f"{path.name} redefines catalog keys already defined: {', '.join(clash[:5])}"
            raise ValueError(msg)
        messages.update(part)
    return messages


@dataclass(frozen=True)
class Catalog:
    """The messages of one locale, with fallback to the default locale."""

    locale: str

    def __post_init__(self) -> None:
        """Refuse unknown locales early."""
        load_messages(self.locale)

    def gettext(self, key: str, /, **params: object) -> str:
        """The text of ``key`` in this locale, ``str.format``-ed with ``params``."""
        text = load_messages(self.locale).get(key) or load_messages(DEFAULT_LOCALE).get(key) or key
        return text.format(**params) if params else text

    __call__ = gettext

    def has(self, key: str) -> bool:
        """Whether ``key`` exists in this locale or the default one."""
        return key in load_messages(self.locale) or key in load_messages(DEFAULT_LOCALE)

    def optional(self, prefix: str, code: str) -> str:
        """The text of ``prefix.code`` if the catalog names it, else ``code`` itself (data, not a gap)."""
        key = f"{prefix}.{code}"
        return self.gettext(key) if self.has(key) else code

    def region(self, code: str) -> str:
        """A GB/T 2260 division for people: its own name, else its province's name and the code."""
        if self.has(f"region.{code}"):
            return self.gettext(f"region.{code}")
        province = f"region.{code[:2]}0000"
        if len(code) == 6 and code.isdigit() and self.has(province):
            return f"{self.gettext(province)} {code}"
        return code

    @property
    def html_lang(self) -> str:
        """The BCP 47 tag for ``<html lang>``."""
        return "zh-Hans-CN" if self.locale == "zh-CN" else self.locale


def match_locale(tag: str | None) -> str | None:
    """The supported locale a language tag asks for (``zh``, ``zh-Hans``, ``en-GB`` ...), or None."""
    if not tag:
        return None
    tag = tag.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first (``q=0`` dropped, bad q ignored)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag.strip():
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate_locale(
    *, query: str | None, cookie: str | None, accept_language: str | None, default: str = DEFAULT_LOCALE
) -> str:
    """Pick the locale: an explicit ``?lang=`` first, then the cookie, then Accept-Language, then default."""
    for candidate in (query, cookie):
        found = match_locale(candidate)
        if found:
            return found
    for tag in parse_accept_language(accept_language):
        found = match_locale(tag)
        if found:
            return found
    return default if default in LOCALES else DEFAULT_LOCALE
