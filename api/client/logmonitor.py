"""A transparency-log monitor: catch forks and rewritten history with nothing but the public API.

Depends only on ``crypto``, ``httpx`` and ``rfc8785`` (no database, no server code), so anyone can run
it. Each run fetches the latest checkpoint, checks its signature (pinned key) and origin, checks it
against the saved one (shrunk, or the same size with another root: a fork; larger: a consistency
proof), fetches the new entries (all of them with ``full`` and on the first run), re-hashes them and
checks that they give the signed root. The state (see :mod:`api.client.logstate`) is saved only when
every check passed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import rfc8785

from api.client.logstate import (
    BadAnswer,
    CompactRange,
    LocalProblem,
    MonitorState,
    NetworkTrouble,
    StateFiles,
    TamperEvidence,
    b64,
    normalise_url,
)
from crypto.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from crypto.merkle import HASH_SIZE, MerkleError, leaf_hash
from crypto.merkle import verify_consistency as merkle_verify_consistency
from crypto.signednote import NoteError, NoteVerifier, parse_verifier_key

PAGE: Final = 1000
"""Entries per request (the server's page limit)."""
TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)


# --- talking to the log --------------------------------------------------------------------------


class LogApi:
    """The public log endpoints, with failures turned into :class:`MonitorError` classes."""

    def __init__(self, client: httpx.Client, server: str) -> None:
        self.client = client
        self.server = server

    def _get(self, path: str, **params: int) -> httpx.Response:
        try:
            response = self.client.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise NetworkTrouble(f"the log at {self.server} did not answer in time ({path})") from exc
        except httpx.TransportError as exc:
            raise NetworkTrouble(f"cannot reach the log at {self.server}: {exc}") from exc
        if response.status_code >= 500:
            raise NetworkTrouble(f"the log at {self.server} failed: {response.status_code} for {path}")
        if response.status_code != 200:
            detail = response.text[:300].strip()
            raise BadAnswer(f"the log at {self.server} answered {response.status_code} for {path}: {detail}")
        return response

    def _json(self, path: str, **params: int) -> Any:
        try:
            return self._get(path, **params).json()
        except ValueError as exc:
            raise BadAnswer(f"the log at {self.server} did not answer JSON for {path}") from exc

    def key(self) -> str:
        """The verifier key text the server publishes."""
        return self._get("/log/key").text.strip()

    def checkpoint(self) -> bytes:
        """The latest signed checkpoint note."""
        return self._get("/log/checkpoint").content

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The consistency proof between two sizes."""
        body = self._json("/log/proof/consistency", first=first, second=second)
        try:
            proof = [base64.b64decode(h, validate=True) for h in body["proof"]]
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise BadAnswer(f"the consistency proof from {self.server} is malformed") from exc
        if any(len(h) != HASH_SIZE for h in proof):
            raise BadAnswer(f"the consistency proof from {self.server} holds a hash of the wrong length")
        return proof

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes, bytes]]:
        """Yield ``(index, entry, served leaf hash)`` for ``[start, end)``, page by page."""
        while start < end:
            body = self._json("/log/entries", start=start, end=min(end, start + PAGE))
            try:
                page = [
                    (
                        int(e["index"]),
                        base64.b64decode(e["entry"], validate=True),
                        bytes.fromhex(e["leaf_hash"]),
                    )
                    for e in body["entries"]
                ]
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                raise BadAnswer(f"the entries page at {start} from {self.server} is malformed") from exc
            if not page:
                raise TamperEvidence(
                    f"entry {start} is missing: the log at {self.server} serves no entry there "
                    f"although its checkpoint counts {end} entries"
                )
            for item in page:
                if item[0] >= end:
                    return
                yield item
            start = page[-1][0] + 1


# --- the check ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A successful run: sizes and roots before and after, how many entries were re-hashed."""

    server: str
    previous_size: int | None
    previous_root: bytes | None
    size: int
    root: bytes
    rehashed: int
    trusted_on_first_use: str | None

    def lines(self) -> list[str]:
        """Plain-words summary."""
        out = []
        if self.trusted_on_first_use:
            out.append(
                f"first run: trusting the log key {self.trusted_on_first_use} (compare it out of band)"
            )
        if self.previous_size is None:
            out.append(f"log {self.server}: size {self.size}, root {b64(self.root)}")
        else:
            out.append(
                f"log {self.server}: size {self.previous_size} -> {self.size}, "
                f"root {b64(self.previous_root or b'')} -> {b64(self.root)}"
            )
        out.append(
            f"verified: signature, consistency with the saved checkpoint, {self.rehashed} entries re-hashed"
        )
        return out


def _verify_note(note: bytes, verifier: NoteVerifier, server: str) -> Checkpoint:
    try:
        verdict = verify_checkpoint(note, verifier, verifier.name)
    except (NoteError, CheckpointError) as exc:
        raise BadAnswer(f"the checkpoint from {server} is malformed: {exc}") from exc
    if not verdict.ok or verdict.checkpoint is None:
        reasons = "; ".join(verdict.reasons)
        if "origin" in reasons:
            raise TamperEvidence(f"the checkpoint from {server} is for another log: {reasons}")
        raise TamperEvidence(
            f"the checkpoint of {server}: signature does not verify with the pinned key "
            f"{verifier.to_text()} ({reasons})"
        )
    return verdict.checkpoint


def _check_against_saved(api: LogApi, state: MonitorState, cp: Checkpoint, note: bytes) -> None:
    server = api.server
    saved = (
        f"the one you verified earlier ({state.verified_at}) has size {state.size} and root {b64(state.root)}"
    )
    evidence = f"Keep both signed checkpoints as evidence:\n{state.note}\n{note.decode(errors='replace')}"
    if cp.size < state.size:
        raise TamperEvidence(
            f"fork: the log at {server} shrank: it now signs a checkpoint of size {cp.size}, but {saved}.\n"
            + evidence
        )
    if cp.size == state.size and cp.root_hash != state.root:
        raise TamperEvidence(
            f"fork: checkpoint of size {cp.size} has root {b64(cp.root_hash)} but {saved}.\n" + evidence
        )
    if state.size < cp.size and state.size > 0:
        proof = api.consistency(state.size, cp.size)
        try:
            verdict = merkle_verify_consistency(state.size, cp.size, proof, state.root, cp.root_hash)
        except MerkleError as exc:
            raise BadAnswer(f"the consistency proof from {server} is malformed: {exc}") from exc
        if not verdict.ok:
            raise TamperEvidence(
                f"the log at {server} rewrote history: its checkpoint of size {cp.size} "
                f"(root {b64(cp.root_hash)}) is not an extension of the size-{state.size} checkpoint "
                f"you verified earlier (root {b64(state.root)}): {verdict.reason}.\n" + evidence
            )


def _check_entry(server: str, index: int, entry: bytes, served: bytes, saved: bytes | None) -> bytes:
    computed = leaf_hash(entry)
    if saved is not None and computed != saved:
        raise TamperEvidence(
            f"the log at {server} rewrote history: entry {index} no longer hashes to {saved.hex()} "
            f"as when you verified it; it now hashes to {computed.hex()}"
        )
    if computed != served:
        raise TamperEvidence(
            f"the log at {server} rewrote history: entry {index} no longer hashes to {served.hex()}, "
            f"the leaf hash the log itself records; it hashes to {computed.hex()}"
        )
    try:
        canonical = rfc8785.dumps(json.loads(entry)) == entry
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting from a hostile server
        canonical = False
    if not canonical:
        raise TamperEvidence(f"entry {index} of the log at {server} is not canonical JSON (RFC 8785)")
    return computed


def _pinned_key(
    api: LogApi, state: MonitorState | None, key: str | None, files: StateFiles
) -> tuple[NoteVerifier, bool]:
    """The verifier to use and whether it was trusted on first use."""
    tofu = False
    if state is not None:
        if key is not None and key.strip() != state.verifier_key:
            raise LocalProblem(
                f"the key you gave differs from the key pinned for {api.server} in {files.path}; if the log "
                "really changed its key, confirm that out of band and remove the state file"
            )
        key_text = state.verifier_key
    elif key is not None:
        key_text = key.strip()
    else:
        key_text, tofu = api.key(), True
    try:
        return parse_verifier_key(key_text), tofu
    except NoteError as exc:
        problem = BadAnswer if tofu else LocalProblem
        raise problem(f"the log key {key_text!r} is not a verifier key: {exc}") from exc


def _rehash(
    api: LogApi, cp: Checkpoint, state: MonitorState | None, files: StateFiles, start: int
) -> tuple[CompactRange, list[bytes]]:
    """Fetch and re-hash entries ``[start, cp.size)``; return the compact range and the leaf hashes."""
    server = api.server
    compact = (
        CompactRange(start, list(state.compact_range)) if state is not None and start else CompactRange()
    )
    # A full pass over a log seen before also re-verifies the saved prefix against the saved root.
    prefix, prefix_root, seen = (
        (state.size, state.root, state.verified_at) if state and not start else (0, b"", "")
    )
    saved_leaves = files.saved_leaves(prefix) if prefix else []
    leaves: list[bytes] = []
    buffer: list[bytes] = []
    for index, entry, served in api.entries(start, cp.size):
        expected = compact.size + len(buffer)
        if index != expected:
            raise TamperEvidence(
                f"entry {expected} is missing: the log at {server} skips from entry {expected - 1} "
                f"to {index} although its checkpoint counts {cp.size} entries"
            )
        saved = saved_leaves[index] if index < len(saved_leaves) else None
        buffer.append(_check_entry(server, index, entry, served, saved))
        leaves.append(buffer[-1])
        if len(buffer) >= PAGE or index + 1 == prefix:
            compact.extend(buffer)
            buffer = []
        if index + 1 == prefix and compact.root() != prefix_root:
            raise TamperEvidence(
                f"the log at {server} rewrote history: its first {prefix} entries no longer hash to the "
                f"root {b64(prefix_root)} you verified on {seen}"
            )
    compact.extend(buffer)
    if compact.size != cp.size:
        raise TamperEvidence(
            f"the log at {server} serves {compact.size} entries but its checkpoint counts {cp.size}"
        )
    if compact.root() != cp.root_hash:
        raise TamperEvidence(
            f"the entries the log at {server} serves do not hash to its signed root: they give "
            f"{b64(compact.root())}, the checkpoint says {b64(cp.root_hash)}"
        )
    return compact, leaves


HINT: Final = "run again with --full to find the entries that changed"


def _locate(api: LogApi, cp: Checkpoint, state: MonitorState, files: StateFiles) -> str:
    """After a fork or failed consistency proof: which entry no longer matches what was verified."""
    if cp.size < state.size:
        return "the entries beyond the new size are gone"
    try:
        _rehash(api, cp, state, files, 0)
    except TamperEvidence as exc:
        return f"in detail: {exc}"
    return "the entries it serves now hash to its new root; compare them with a copy of the old ones"


#: Up to this many entries a monitoring pass re-fetches and re-hashes the whole log by default, so a
#: rewrite of an old entry that leaves the tree nodes alone is caught on every run, not only with --full.
FULL_REHASH_LIMIT = 200_000


def verify_log(
    client: httpx.Client, server: str, files: StateFiles, *, key: str | None = None, full: bool | None = None
) -> Report:
    """Run one monitoring pass against ``server``; save the new state only if every check passed.

    ``full=None`` re-hashes every entry while the log has at most :data:`FULL_REHASH_LIMIT` entries and
    only the new ones beyond that; True or False force either. Raises a :class:`MonitorError` subclass
    describing the first problem found.
    """
    server = normalise_url(server)
    api = LogApi(client, server)
    state = files.load()
    if state is not None and state.server != server:
        raise LocalProblem(f"the state file {files.path} belongs to {state.server}, not {server}")
    verifier, tofu = _pinned_key(api, state, key, files)
    note = api.checkpoint()
    cp = _verify_note(note, verifier, server)
    if full is None:
        full = cp.size <= FULL_REHASH_LIMIT
    if state is not None:
        try:
            _check_against_saved(api, state, cp, note)
        except TamperEvidence as exc:
            raise TamperEvidence(f"{exc}\n{_locate(api, cp, state, files) if full else HINT}") from None
    start = 0 if full or state is None else state.size
    compact, leaves = _rehash(api, cp, state, files, start)
    new_state = MonitorState(
        server,
        verifier.to_text(),
        cp.size,
        cp.root_hash,
        note.decode(),
        tuple(compact.hashes()),
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    files.save(new_state, leaves, replace=start == 0)
    return Report(
        server,
        state.size if state else None,
        state.root if state else None,
        cp.size,
        cp.root_hash,
        len(leaves),
        verifier.to_text() if tofu else None,
    )
