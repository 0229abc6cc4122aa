"""The public entry format: RFC 8785 canonical JSON that never holds confidential content.

An entry is::

    {"v": 1, "type": "bid.submitted", "time": "2026-01-05T01:00:00.000Z", "tender": "<opaque id>" | null,
     "actor": {"role": "tenderer", "commitment": "<hex>"[, "operator": "<id>"]},
     "data": {<hashes, counts, commitments>}}

The actor commitment is ``SHA-256(ACTOR_DOMAIN || salt || JCS({"address": ..., "operator": ...}))``
with a fresh random 32-byte salt kept in the private ``log_audit`` table, so the platform can later
open it to a monitor (Measures Art. 49) while the public entry names nobody. The operator appears in
clear only for public roles (agency, authority, admin, the platform itself) when the caller asks.

Callers put only hashes, counts, ids and commitments in ``data``; the service checks the *shape*
(JSON scalars, lists and objects, no floats, bounded size) but cannot know whether a string is
confidential, so that duty stays with the caller.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import rfc8785

from tendering.errors import InvalidInput

ENTRY_VERSION: Final = 1
ACTOR_DOMAIN: Final = b"sealbid.log.actor.v1\x00"
"""Domain tag of actor commitments."""

PUBLIC_ROLES: Final = frozenset(
    {"agency", "authority", "reviewer", "supervisor", "admin", "system", "console"}
)
"""Roles whose operator may be named in a public entry (never tenderer, expert, custodian, monitor)."""

MAX_ENTRY_BYTES: Final = 16 * 1024
MAX_DEPTH: Final = 8
SALT_BYTES: Final = 32

_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_-]*)+")
_ROLE = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_MAX_SAFE_INT: Final = 2**53 - 1


@dataclass(frozen=True)
class LogActor:
    """Who caused an event: role, opaque operator id (None for the platform) and network address."""

    role: str
    operator: str | None = None
    address: str | None = None
    public: bool = False

    @classmethod
    def system(cls) -> LogActor:
        """The platform itself (a scheduled step, the sequencer)."""
        return cls("system", None, None, public=True)


@dataclass(frozen=True)
class LogEvent:
    """An event to append: its type, actor, tender (opaque id or None) and non-confidential data."""

    type: str
    actor: LogActor
    tender: str | uuid.UUID | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedEntry:
    """The canonical entry bytes and the private audit fields that open its actor commitment."""

    entry: bytes
    operator: str | None
    role: str
    address: str | None
    salt: bytes
    time: datetime


def format_time(when: datetime) -> str:
    """RFC 3339 UTC with milliseconds and ``Z``: ``2026-01-05T01:00:00.000Z``."""
    if when.tzinfo is None:
        raise InvalidInput("log entry time must be timezone-aware")
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor_commitment(salt: bytes, operator: str | None, address: str | None) -> str:
    """Hex SHA-256 over the domain tag, the salt and the canonical JSON of operator and address."""
    if len(salt) != SALT_BYTES:
        raise InvalidInput(f"commitment salt must be {SALT_BYTES} bytes")
    opening = canonical_json({"address": address, "operator": operator})
    return hashlib.sha256(ACTOR_DOMAIN + salt + opening).hexdigest()


def _plain(value: Any, path: str, depth: int, wide_keys: list[str]) -> Any:
    """Check that ``value`` is plain JSON for a log entry and return it as dicts, lists and scalars.

    Keys with characters outside the Basic Multilingual Plane are collected in ``wide_keys``.
    """
    if depth > MAX_DEPTH:
        raise InvalidInput(f"log entry data nests deeper than {MAX_DEPTH} at {path}")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            raise InvalidInput(f"log entry data {path}: integer outside +-(2**53-1); pass it as a string")
        return int(value)
    if isinstance(value, float):
        raise InvalidInput(
            f"log entry data {path}: floats are not allowed; pass counts as ints, amounts as strings"
        )
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{i}]", depth + 1, wide_keys) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"log entry data {path}: object keys must be strings")
            if key and max(key) > "\uffff":
                wide_keys.append(key)
            out[key] = _plain(item, f"{path}.{key}", depth + 1, wide_keys)
        return out
    raise InvalidInput(
        f"log entry data {path}: {type(value).__name__} is not a JSON value; pass hashes as hex strings"
    )


def canonical_json(document: Any, *, reference: bool = False) -> bytes:
    """The RFC 8785 bytes of ``document``, checked by :func:`_plain` to hold only plain JSON values.

    For str, int (|n| <= 2**53 - 1), bool, None, lists and dicts, Python's ``json`` with sorted keys,
    no whitespace and no ASCII escaping gives exactly the RFC 8785 form (same escapes, lower-case
    ``\\u00xx``, integers in decimal), except that RFC 8785 sorts keys by UTF-16 code units and Python
    by code points; the two orders differ only for keys outside the Basic Multilingual Plane. Those
    documents (``reference=True``) go through the ``rfc8785`` package, which the tests compare against.
    """
    try:
        if reference:
            return bytes(rfc8785.dumps(document))
        return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:  # lone surrogates (UnicodeEncodeError), integer domain, non-JSON
        raise InvalidInput(f"log entry cannot be canonicalised: {exc}") from exc


def _check_event(event: LogEvent) -> None:
    if not isinstance(event.type, str) or len(event.type) > 64 or not _TYPE.fullmatch(event.type):
        raise InvalidInput(
            f"log entry type {event.type!r} is not a dotted lower-case name like 'bid.submitted'"
        )
    actor = event.actor
    for what, text in (("operator", actor.operator), ("network address", actor.address)):
        if text is not None and not isinstance(text, str):
            raise InvalidInput(f"actor {what} must be a string (an opaque id), not {type(text).__name__}")
    if not isinstance(actor.role, str) or not _ROLE.fullmatch(actor.role):
        raise InvalidInput(f"actor role {actor.role!r} is not a role name")
    if actor.public and actor.role not in PUBLIC_ROLES:
        raise InvalidInput(f"the operator of role {actor.role!r} may never be named in the public log")
    if actor.operator is not None and not 0 < len(actor.operator) <= 200:
        raise InvalidInput("actor operator must be a non-empty id of at most 200 characters")
    if actor.address is not None and len(actor.address) > 100:
        raise InvalidInput("actor network address is longer than 100 characters")
    if not isinstance(event.data, Mapping):
        raise InvalidInput("log entry data must be an object")


def prepare_entry(event: LogEvent, when: datetime, salt: bytes | None = None) -> PreparedEntry:
    """Validate ``event`` and build its canonical entry bytes with a fresh actor commitment."""
    _check_event(event)
    wide_keys: list[str] = []
    data = _plain(event.data, "data", 0, wide_keys)
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    actor = event.actor
    public_actor: dict[str, Any] = {
        "role": actor.role,
        "commitment": actor_commitment(salt, actor.operator, actor.address),
    }
    if actor.public and actor.operator is not None:
        public_actor["operator"] = actor.operator
    document: dict[str, Any] = {
        "v": ENTRY_VERSION,
        "type": event.type,
        "time": format_time(when),
        "tender": str(event.tender) if event.tender is not None else None,
        "actor": public_actor,
        "data": data,
    }
    entry = canonical_json(document, reference=bool(wide_keys))
    if len(entry) > MAX_ENTRY_BYTES:
        raise InvalidInput(
            f"log entry is {len(entry)} bytes; at most {MAX_ENTRY_BYTES} (log hashes, not content)"
        )
    return PreparedEntry(entry, actor.operator, actor.role, actor.address, salt, when)
