"""Safe file names inside a bid package.

A name is a relative path with ``/`` separators, at most :data:`MAX_NAME_BYTES` bytes of UTF-8, in
Unicode NFC. Refused: empty names or segments, ``.`` and ``..`` segments, a leading ``/``, backslashes,
drive letters and other ``:``, control and format characters (C0, C1, bidi overrides ...), segments
ending in a dot or a space, and Windows device names (``CON``, ``NUL``, ``COM1`` ...), so a package
unpacks to the same files on every system. Two names that are equal ignoring case (Unicode case
folding) are duplicates.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final

from crypto.bidpackage.errors import PackageError

__all__ = ["MAX_NAME_BYTES", "check_name", "check_names", "name_key"]

MAX_NAME_BYTES: Final = 255
_RESERVED: Final = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
)
_FORBIDDEN_CHARACTERS: Final = frozenset('\\:*?"<>|')


def _unsafe(name: str, why: str) -> PackageError:
    return PackageError("package-unsafe-name", f"unsafe file name {name!r}: {why}")


def check_name(name: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """Return ``name`` if it is a safe package file name; raise ``package-unsafe-name`` otherwise."""
    if not isinstance(name, str) or not name:
        raise _unsafe(str(name), "empty")
    if len(name.encode("utf-8", errors="surrogatepass")) > max_bytes:
        raise _unsafe(name[:64] + "...", f"longer than {max_bytes} bytes")
    if unicodedata.normalize("NFC", name) != name:
        raise _unsafe(name, "not in Unicode normal form C")
    for character in name:
        category = unicodedata.category(character)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise _unsafe(name, f"contains the control character U+{ord(character):04X}")
        if character in _FORBIDDEN_CHARACTERS:
            raise _unsafe(name, f"contains {character!r}")
    if name.startswith("/"):
        raise _unsafe(name, "absolute path")
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise _unsafe(name, "empty, '.' or '..' path segment")
        if segment != segment.strip() or segment.endswith("."):
            raise _unsafe(name, "a path segment starts or ends with a space, or ends with a dot")
        if segment.split(".", 1)[0].casefold() in _RESERVED:
            raise _unsafe(name, f"{segment!r} is a reserved device name on Windows")
    return name


def name_key(name: str) -> str:
    """The key under which two names count as duplicates (case-insensitive, NFC)."""
    return unicodedata.normalize("NFC", name.casefold())


def check_names(names: Iterable[str], *, max_bytes: int = MAX_NAME_BYTES) -> None:
    """Check every name and refuse duplicates, including names equal ignoring case."""
    seen: dict[str, str] = {}
    for name in names:
        check_name(name, max_bytes=max_bytes)
        key = name_key(name)
        if key in seen:
            raise _unsafe(name, f"duplicate of {seen[key]!r} (names are compared ignoring case)")
        seen[key] = name
    folders: set[str] = set()
    for key in seen:
        parts = key.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    for key, name in seen.items():
        if key in folders:
            raise _unsafe(name, "is both a file and a folder")
