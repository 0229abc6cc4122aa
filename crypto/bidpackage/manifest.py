"""``manifest.json`` of a bid package: the typed value, its canonical JSON, and a strict parser.

The manifest is RFC 8785 (JCS) canonical JSON of type :data:`MANIFEST_TYPE`. The parser accepts
exactly those bytes: UTF-8 without BOM, no duplicate keys, no floats/NaN, integers within
0..2^53-1, bounded nesting, the known field set, and bytes equal to the canonical re-encoding.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import rfc8785

from crypto.bidpackage.errors import PackageError
from crypto.bidpackage.names import check_names
from crypto.bidpackage.prices import PriceForm, check_text, price_form_from_manifest
from crypto.uscc import is_valid_uscc

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_TYPE",
    "ClientInfo",
    "FileEntry",
    "Manifest",
    "parse_manifest",
]

MANIFEST_TYPE: Final = "sealbid.bid-package.v1"
MANIFEST_NAME: Final = "manifest.json"
MAX_ID: Final = 128
MAX_LOTS: Final = 256
_MAX_SAFE_INT: Final = (1 << 53) - 1
_HEX64: Final = re.compile(r"^[0-9a-f]{64}$")
_TIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_FIELDS: Final = frozenset(
    {
        "type",
        "tender_id",
        "lot_ids",
        "bidder_uscc",
        "prices",
        "files",
        "created_at",
        "client",
        "machine_code",
    }
)


@dataclass(frozen=True)
class FileEntry:
    """One file of the bid: its name in the package, size in bytes and SHA-256 (lowercase hex)."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ClientInfo:
    """The tool that built the package."""

    name: str
    version: str


@dataclass(frozen=True)
class Manifest:
    """A bid package's manifest (what the bidder declares and signs)."""

    tender_id: str
    lot_ids: tuple[str, ...]
    bidder_uscc: str
    prices: tuple[PriceForm, ...]
    files: tuple[FileEntry, ...]
    created_at: datetime
    client: ClientInfo
    machine_code: str

    def to_json(self) -> dict[str, Any]:
        """The JSON object (before canonicalisation)."""
        return {
            "type": MANIFEST_TYPE,
            "tender_id": self.tender_id,
            "lot_ids": list(self.lot_ids),
            "bidder_uscc": self.bidder_uscc,
            "prices": [p.to_json() for p in self.prices],
            "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in self.files],
            "created_at": self.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "client": {"name": self.client.name, "version": self.client.version},
            "machine_code": self.machine_code,
        }

    def canonical_bytes(self) -> bytes:
        """The RFC 8785 bytes stored as ``manifest.json``."""
        return bytes(rfc8785.dumps(self.to_json()))

    def validate(self) -> Manifest:
        """Check every field (the same rules as :func:`parse_manifest`); returns ``self``."""
        return _manifest_from_json(self.to_json())


def _invalid(message: str) -> PackageError:
    return PackageError("package-manifest-invalid", message)


def _depth_ok(raw: bytes, max_depth: int) -> bool:
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > max_depth:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _invalid(f"the manifest repeats the key {key!r}")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise _invalid(f"the manifest contains the non-integer number {text[:32]!r}")


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SAFE_INT:
        raise _invalid(f"{what} must be a whole number from 0 to 2^53-1")
    return value


def _list(value: object, what: str, max_items: int) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"{what} must be a list")
    if len(value) > max_items:
        raise PackageError("package-too-large", f"{what} has more than {max_items} items")
    return value


def _files(value: object, max_files: int) -> tuple[FileEntry, ...]:
    entries = []
    for i, item in enumerate(_list(value, "files", max_files)):
        if not isinstance(item, dict) or set(item) != {"name", "size", "sha256"}:
            raise _invalid(f"files[{i}] must have exactly name, size and sha256")
        if not isinstance(item["name"], str):
            raise _invalid(f"files[{i}].name must be a text")
        if not isinstance(item["sha256"], str) or not _HEX64.match(item["sha256"]):
            raise _invalid(f"files[{i}].sha256 must be 64 lowercase hex digits")
        entries.append(FileEntry(item["name"], _int(item["size"], f"files[{i}].size"), item["sha256"]))
    check_names(e.name for e in entries)
    if [e.name for e in entries] != sorted(e.name for e in entries):
        raise _invalid("files must be sorted by name")
    return tuple(entries)


def _lots_and_prices(data: dict[str, Any]) -> tuple[tuple[str, ...], tuple[PriceForm, ...]]:
    lot_ids = tuple(
        check_text(lot, f"lot_ids[{i}]", max_length=64)
        for i, lot in enumerate(_list(data["lot_ids"], "lot_ids", MAX_LOTS))
    )
    if len(set(lot_ids)) != len(lot_ids):
        raise _invalid("lot_ids has duplicates")
    raw_prices = _list(data["prices"], "prices", MAX_LOTS)
    prices = tuple(price_form_from_manifest(p, f"prices[{i}]") for i, p in enumerate(raw_prices))
    expected: tuple[str | None, ...] = lot_ids or (None,)
    if tuple(p.lot_id for p in prices) != expected:
        raise _invalid("prices must hold one form per lot, in the order of lot_ids (one form without lots)")
    return lot_ids, prices


def _manifest_from_json(data: object, max_files: int = 10_000) -> Manifest:
    if not isinstance(data, dict):
        raise _invalid("the manifest must be a JSON object")
    if data.get("type") != MANIFEST_TYPE:
        raise _invalid(f"the manifest type must be {MANIFEST_TYPE!r}")
    if set(data) != _FIELDS:
        raise _invalid(
            f"unknown manifest fields {sorted(set(data) - _FIELDS)}, missing {sorted(_FIELDS - set(data))}"
        )
    tender_id = check_text(data["tender_id"], "tender_id", max_length=MAX_ID)
    lot_ids, prices = _lots_and_prices(data)
    uscc = data["bidder_uscc"]
    if not is_valid_uscc(uscc):
        raise _invalid(f"bidder_uscc {str(uscc)[:40]!r} is not a valid unified social credit code")
    created = data["created_at"]
    if not isinstance(created, str) or not _TIME.match(created):
        raise _invalid("created_at must be a UTC time such as 2026-11-23T09:30:00Z")
    try:
        created_at = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _invalid(f"created_at {created!r} is not a real time") from None
    client = data["client"]
    if not isinstance(client, dict) or set(client) != {"name", "version"}:
        raise _invalid("client must have exactly name and version")
    machine_code = data["machine_code"]
    if not isinstance(machine_code, str) or not _HEX64.match(machine_code):
        raise _invalid("machine_code must be 64 lowercase hex digits")
    return Manifest(
        tender_id=tender_id,
        lot_ids=lot_ids,
        bidder_uscc=str(uscc),
        prices=prices,
        files=_files(data["files"], max_files),
        created_at=created_at,
        client=ClientInfo(
            check_text(client["name"], "client.name", max_length=64),
            check_text(client["version"], "client.version", max_length=64),
        ),
        machine_code=machine_code,
    )


def parse_manifest(raw: bytes, *, max_depth: int = 8, max_files: int = 10_000) -> Manifest:
    """Parse and check ``manifest.json`` bytes; :class:`PackageError` for anything unacceptable."""
    if not _depth_ok(raw, max_depth):
        raise PackageError("package-too-large", f"the manifest nests deeper than {max_depth} levels")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("the manifest is not UTF-8") from None
    try:
        data = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_float
        )
    except PackageError:
        raise
    except (ValueError, RecursionError) as exc:
        raise _invalid(f"the manifest is not JSON: {str(exc)[:120]}") from None
    manifest = _manifest_from_json(data, max_files)
    try:
        canonical = bytes(rfc8785.dumps(data))
    except (ValueError, TypeError):
        raise PackageError("package-manifest-not-canonical", "the manifest cannot be canonicalised") from None
    if canonical != raw:
        raise PackageError(
            "package-manifest-not-canonical",
            "manifest.json is valid JSON but not its RFC 8785 canonical form (key order, spacing, escapes)",
        )
    if manifest.canonical_bytes() != raw:
        raise PackageError(
            "package-manifest-not-canonical",
            "manifest.json does not write its values in the canonical way (lot_id, declared, prices)",
        )
    return manifest
