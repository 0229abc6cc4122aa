"""Two otherwise identical platforms ("worlds") for the confidentiality walk: one tender, 0 or 3 bids.

Each world has its own database, data directory and clock (starting at the same moment), the same test
PKI and the same parties. Everyone logs in in both worlds (so the log's login entries match); in the
world with bids, tenderers 1-3 submit and tenderer 1 also leaves an unfinished upload.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from litestar.testing import TestClient

from api.app import create_app
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.identity.service import grant_by_certificate
from tendering.platform import Platform, build_platform
from tendering.settings import load_settings
from tests.bids.fixtures import enrol_custodian_encryption, register_opening_key
from tests.conftest import REDIS_URL
from tests.identity.conftest import token_for
from tests.submission.helpers import Bidder, sealed, signer_of, start_upload, submit, uscc_of
from tests.tenders.conftest import Parties
from tests.tenders.helpers import published

#: Who walks the routes: the name of a test PKI participant (None: anonymous) and its role.
WALKERS: dict[str, tuple[str | None, str | None]] = {
    "anonymous": (None, None),
    "tenderer-1": ("tenderer-1", "tenderer"),
    "tenderer-2": ("tenderer-2", "tenderer"),
    "tenderer-3": ("tenderer-3", "tenderer"),
    "tenderer-4": ("tenderer-4", "tenderer"),
    "agency": ("agency", "agency"),
    "tenderee": ("tenderee", "agency"),
    "reviewer": ("reviewer", "authority"),
    "supervisor": ("supervisor", "authority"),
    "expert": ("expert-1", "expert"),
    "custodian": ("custodian-2", "custodian"),
    "monitor": ("monitor", "monitor"),
    "admin": ("admin", "admin"),
}
BIDDERS = ("tenderer-1", "tenderer-2", "tenderer-3")
ABSENT = uuid.UUID(int=0xB1D)  # an id that names nothing, in every world


@dataclass
class World:
    """A running platform with its app client, tender, logged-in walkers and (maybe) bids."""

    platform: Platform
    client: TestClient  # type: ignore[type-arg]
    tender_id: uuid.UUID
    headers: dict[str, dict[str, str]]
    probe_bid: uuid.UUID = ABSENT
    probe_upload: uuid.UUID = ABSENT
    bid_ids: dict[str, str] = field(default_factory=dict)


def _register(platform: Platform, pki: BuiltPki, name: str, role: str) -> uuid.UUID:
    summary = grant_by_certificate(
        platform,
        pki.signing(name).certificate.public_bytes(Encoding.DER),
        [role],
        actor=Actor.system("console"),
        basis="console",
    )
    return summary.id


def _parties(platform: Platform, pki: BuiltPki) -> Parties:
    ids = {name: _register(platform, pki, name, role) for name, role in WALKERS.values() if name and role}
    ids |= {f"custodian-{i}": _register(platform, pki, f"custodian-{i}", "custodian") for i in (1, 3)}
    fingerprints = {
        ids[name]: hashlib.sha256(pki.signing(name).certificate.public_bytes(Encoding.DER)).hexdigest()
        for name in ids
    }
    return Parties(
        agency=ids["agency"],
        other_agency=ids["tenderee"],
        tenderee=ids["tenderee"],
        tenderee_uscc=uscc_of(pki, "tenderee"),
        authority=ids["reviewer"],
        custodians=(ids["custodian-1"], ids["custodian-2"], ids["custodian-3"]),
        tenderers=tuple(ids[f"tenderer-{i}"] for i in (1, 2, 3, 4)),
        monitor=ids["monitor"],
        fingerprints=fingerprints,
    )


def build_world(database_url: str, data_dir: Path, pki: BuiltPki, *, bids: int) -> Iterator[World]:
    """Build a world with ``bids`` bids (0 or 3) and yield it (closed afterwards)."""
    settings = load_settings(
        None,
        environment="test",
        data_dir=data_dir,
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_namespace=f"sealbid-test-{uuid.uuid4().hex[:8]}",
        maintenance_interval_seconds=3600.0,
    )
    clock = ManualClock()
    platform = build_platform(settings, clock=clock)
    platform.certificates.use_dev_pki(pki)
    try:
        parties = _parties(platform, pki)
        enrol_custodian_encryption(platform, pki)
        tender_id = published(platform, clock, parties)
        keyed = register_opening_key(platform, pki, parties, tender_id)
        with TestClient(create_app(platform=platform, configure_logs=False)) as client:
            headers = {
                walker: token_for(client, pki.signing(name)) if name else {}
                for walker, (name, _) in WALKERS.items()
            }
            world = World(platform, client, tender_id, headers)
            bidders = {
                name: Bidder(name, headers[name], signer_of(pki, name), uscc_of(pki, name))
                for name in BIDDERS
            }
            for name in BIDDERS[:bids]:
                envelope = sealed(keyed.opening_certificate, name.encode())
                answer = submit(client, bidders[name], tender_id, envelope)
                assert answer.status_code == 201, answer.text
                receipt = json.loads(base64.b64decode(answer.json()["receipt"]))
                world.bid_ids[name] = receipt["bid"]
            if bids:
                world.probe_bid = uuid.UUID(world.bid_ids["tenderer-1"])
                unfinished = sealed(keyed.opening_certificate, b"unfinished")
                started = start_upload(client, bidders["tenderer-1"], tender_id, unfinished)
                world.probe_upload = uuid.UUID(started.json()["id"])
            platform.translog.sequence()
            yield world
    finally:
        platform.close()


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_ULID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
_TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{32,}")


def normalise_text(text: str) -> str:
    """Mask what legitimately differs between worlds: ids, times, request ids, hashes and signatures."""
    text = _UUID.sub("<id>", text)
    text = _TIME.sub("<time>", text)
    text = _ULID.sub("<request>", text)
    return _TOKEN.sub("<token>", text)


def normalise(value: Any) -> Any:
    """:func:`normalise_text` over a JSON document (request ids dropped)."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k != "request_id"}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return normalise_text(value)
    return value
