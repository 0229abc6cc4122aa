"""Public transparency-log endpoints: checkpoint, key, entries, inclusion and consistency proofs.

``/log/checkpoints/preceding/{size}`` answers the checkpoint signed just before the one of tree size
``size`` (every sequencing batch stores its signed checkpoint), so a verifier can check that a given
checkpoint was the first to cover an entry (``sealbid experts verify-draw`` does, for the seed).

No login: anyone may monitor the log. Binary values travel as base64 (entries, proof hashes, roots)
except leaf hashes, which are hex (they are also the lookup key in ``?leaf_hash=``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.params import FromPath, FromQuery
from sqlalchemy import select

from api.deps import PlatformDep
from tendering.errors import InvalidInput, NotFound
from tendering.translog import InclusionProof, StoredEntry
from tendering.translog.models import LogCheckpoint

#: Marks every route here as deliberately public (see ``api.auth``).
_PUBLIC = {"public": True}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _entry_document(entry: StoredEntry) -> dict[str, Any]:
    return {"index": entry.index, "entry": _b64(entry.entry), "leaf_hash": entry.leaf_hash.hex()}


def _inclusion_document(proof: InclusionProof) -> dict[str, Any]:
    return {
        "index": proof.index,
        "size": proof.size,
        "leaf_hash": proof.leaf_hash.hex(),
        "root": _b64(proof.root),
        "proof": [_b64(h) for h in proof.proof],
    }


def _parse_leaf_hash(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidInput("leaf_hash must be 64 hex digits (a SHA-256 leaf hash)", code="log-range")
    return raw


class TranslogController(Controller):
    """The transparency log, read-only and public."""

    path = "/log"
    tags = ["transparency log"]  # noqa: RUF012 - Litestar layer attribute
    opt = _PUBLIC

    @get("/checkpoint", media_type=MediaType.TEXT, sync_to_thread=True, summary="Latest signed checkpoint")
    def checkpoint(self, platform: PlatformDep) -> Response[str]:
        """The latest checkpoint as a C2SP signed note (``text/plain``), never cached."""
        head = platform.translog.checkpoint()
        return Response(head.note, media_type=MediaType.TEXT, headers={"Cache-Control": "no-store"})

    @get("/key", media_type=MediaType.TEXT, sync_to_thread=True, summary="The log's verifier key")
    def key(self, platform: PlatformDep) -> str:
        """The C2SP verifier key text (``<origin>+<key id>+<base64 key>``) that signs checkpoints."""
        return platform.translog.verifier_key() + "\n"

    @get(
        "/checkpoints/preceding/{size:int}",
        media_type=MediaType.TEXT,
        sync_to_thread=True,
        summary="The signed checkpoint just before tree size `size`",
    )
    def preceding_checkpoint(self, platform: PlatformDep, size: FromPath[int]) -> Response[str]:
        """The stored checkpoint with the largest size below ``size`` (``text/plain`` signed note).

        ``size`` must be the size of a stored checkpoint (404 otherwise, and for size 0, the first).
        """
        with platform.session_factory() as session:
            exists = session.scalar(select(LogCheckpoint.size).where(LogCheckpoint.size == size))
            note = session.scalar(
                select(LogCheckpoint.note)
                .where(LogCheckpoint.size < size)
                .order_by(LogCheckpoint.size.desc())
                .limit(1)
            )
        if exists is None or note is None:
            raise NotFound(f"the log has no checkpoint before one of size {size}", code="log-no-checkpoint")
        return Response(note, media_type=MediaType.TEXT, headers={"Cache-Control": "public, max-age=3600"})

    @get("/entries", sync_to_thread=True, summary="A page of entries [start, end)")
    def entries(
        self, platform: PlatformDep, start: FromQuery[int], end: FromQuery[int | None] = None
    ) -> dict[str, Any]:
        """Entries ``[start, end)``, at most 1000 (``end`` defaults to a full page, clipped to the size)."""
        head, rows = platform.translog.entries(start, end)
        return {"size": head.size, "start": start, "entries": [_entry_document(row) for row in rows]}

    @get("/entries/{index:int}", sync_to_thread=True, summary="One entry")
    def entry(self, platform: PlatformDep, index: FromPath[int]) -> dict[str, Any]:
        """One entry, with its canonical JSON also decoded for reading (the bytes are authoritative)."""
        row = platform.translog.entry(index)
        document = _entry_document(row)
        try:
            document["content"] = json.loads(row.entry)
        except ValueError:
            document["content"] = None
        return document

    @get("/proof/inclusion", sync_to_thread=True, summary="Inclusion proof by index or leaf hash")
    def inclusion(
        self,
        platform: PlatformDep,
        index: FromQuery[int | None] = None,
        leaf_hash: FromQuery[str | None] = None,
        size: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """RFC 9162 inclusion proof of ``index`` (or of the entry with ``leaf_hash``) in tree ``size``."""
        if (index is None) == (leaf_hash is None):
            raise InvalidInput("give exactly one of index and leaf_hash", code="log-range")
        if leaf_hash is not None:
            proof = platform.translog.inclusion_proof_by_hash(_parse_leaf_hash(leaf_hash), size)
        else:
            assert index is not None
            proof = platform.translog.inclusion_proof(index, size)
        return _inclusion_document(proof)

    @get("/proof/consistency", sync_to_thread=True, summary="Consistency proof between two tree sizes")
    def consistency(
        self, platform: PlatformDep, first: FromQuery[int], second: FromQuery[int | None] = None
    ) -> dict[str, Any]:
        """RFC 9162 consistency proof from tree size ``first`` to ``second`` (default: the latest)."""
        proof = platform.translog.consistency_proof(first, second)
        return {"first": proof.first, "second": proof.second, "proof": [_b64(h) for h in proof.proof]}
