"""The hierarchical specialty code list of the expert pool (``experts/specialties.toml``).

A code is a letter (A works, B goods, C services) followed by two digits per level: ``A``, ``A01``,
``A0101``. A request for a parent code is met by an expert of the parent itself or of any descendant.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from tendering.errors import InvalidInput

CODE: Final = re.compile(r"[A-Z](?:[0-9]{2}){0,3}")
_FILE: Final = Path(__file__).with_name("specialties.toml")


@dataclass(frozen=True)
class Specialty:
    """One entry of the code list with its names in both locales."""

    code: str
    zh: str
    en: str

    @property
    def parent(self) -> str | None:
        """The parent code (``A01`` for ``A0101``), None for a top-level letter."""
        return self.code[:-2] if len(self.code) > 1 else None

    def name(self, locale: str) -> str:
        """The name in ``locale`` (zh-CN unless English is asked for)."""
        return self.en if locale.startswith("en") else self.zh


@cache
def specialties() -> dict[str, Specialty]:
    """Every specialty by code, loaded once from the data file (which is checked for consistency)."""
    raw = tomllib.loads(_FILE.read_text(encoding="utf-8"))
    found: dict[str, Specialty] = {}
    for code, names in raw.items():
        if not CODE.fullmatch(code):
            msg = f"specialty code {code!r} in {_FILE.name} is malformed"
            raise ValueError(msg)
        found[code] = Specialty(code, str(names["zh"]), str(names["en"]))
    for item in found.values():
        if item.parent is not None and item.parent not in found:
            msg = f"specialty {item.code} has no parent {item.parent} in {_FILE.name}"
            raise ValueError(msg)
    return found


def check_code(code: str) -> str:
    """Return ``code`` (upper-cased, trimmed) if it is in the list; InvalidInput otherwise."""
    normalised = code.strip().upper()
    if normalised not in specialties():
        raise InvalidInput(f"unknown specialty code {code!r}", code="expert-specialty-unknown")
    return normalised


def matches(requested: str, held: str) -> bool:
    """Whether an expert holding ``held`` meets a request for ``requested`` (same code or descendant)."""
    return held.startswith(requested)


def meets(requested: str, held: tuple[str, ...] | list[str]) -> bool:
    """Whether any of an expert's codes meets a request for ``requested``."""
    return any(code.startswith(requested) for code in held)
