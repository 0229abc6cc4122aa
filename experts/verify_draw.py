"""Client-side check of an expert draw: the log entries, the checkpoints and the recomputed order.

Uses only :mod:`crypto`, :mod:`experts.draw_math` (pure) and an HTTP client. Steps:

1. fetch the public draw record and the log's verifier key (or take a pinned one);
2. verify the latest checkpoint and the seed checkpoint (signature, origin), the consistency of the seed
   checkpoint with the latest, and that the record names the seed checkpoint's size and root;
3. fetch the commitment, draw and reveal entries, check each is in the log (inclusion proofs: the
   commitment in the seed checkpoint, whose size must exceed the commitment's index, the others in the
   latest) and that they agree with the record;
4. recompute SHA-256(secret), the eligible-set hash, the seed, the order, the selection and its hash,
   and the rank of every replacement; report MATCHES or each difference.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from crypto.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from crypto.merkle import MerkleError, leaf_hash, verify_consistency, verify_inclusion
from crypto.signednote import NoteError
from experts import draw_math

EXIT_OK: Final = 0
EXIT_LOCAL: Final = 1
EXIT_NETWORK: Final = 3
EXIT_TAMPERED: Final = 4
EXIT_BAD_ANSWER: Final = 5


class VerifyError(Exception):
    """The check could not be completed; ``exit_code`` classifies why (as in ``sealbid log verify``)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class DrawVerdict:
    """The outcome: every difference found (none means the draw MATCHES)."""

    request_id: str
    differences: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        """True when nothing differs."""
        return not self.differences


class _Api:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, path: str, **params: Any) -> httpx.Response:
        try:
            response = self.client.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise VerifyError(f"cannot reach the server: {exc}", EXIT_NETWORK) from None
        if response.status_code >= 500:
            raise VerifyError(f"the server failed ({response.status_code}) on {path}", EXIT_NETWORK)
        if response.status_code == 404:
            raise VerifyError(f"the server has no {path}", EXIT_LOCAL)
        if response.status_code != 200:
            raise VerifyError(f"the server answered {response.status_code} on {path}", EXIT_BAD_ANSWER)
        return response

    def json(self, path: str, **params: Any) -> Any:
        try:
            return self.get(path, **params).json()
        except ValueError:
            raise VerifyError(f"{path} did not answer JSON", EXIT_BAD_ANSWER) from None


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _checkpoint(note: str, key: str, what: str) -> Checkpoint:
    origin = key.split("+", 1)[0]
    try:
        verdict = verify_checkpoint(note.encode("utf-8"), key, origin)
    except (NoteError, CheckpointError) as exc:
        raise VerifyError(f"the {what} is malformed: {exc}", EXIT_BAD_ANSWER) from None
    if not verdict.ok or verdict.checkpoint is None:
        raise VerifyError(
            f"the {what} is not signed by the log key: {'; '.join(verdict.reasons)}", EXIT_TAMPERED
        )
    return verdict.checkpoint


def _entry(api: _Api, index: int, tree: Checkpoint, what: str) -> dict[str, Any]:
    """Fetch entry ``index``, prove it is in ``tree``, return its decoded content."""
    document = api.json(f"/log/entries/{index}")
    try:
        raw = _b64(document["entry"])
        proof = api.json("/log/proof/inclusion", index=index, size=tree.size)
        path = [_b64(h) for h in proof["proof"]]
        verdict = verify_inclusion(leaf_hash(raw), index, tree.size, path, tree.root_hash)
    except (KeyError, TypeError, ValueError, MerkleError) as exc:
        raise VerifyError(
            f"the {what} entry {index} or its proof is malformed: {exc}", EXIT_BAD_ANSWER
        ) from None
    if not verdict.ok:
        raise VerifyError(
            f"the {what} entry {index} is not in the checkpoint of size {tree.size}", EXIT_TAMPERED
        )
    content: dict[str, Any] = json.loads(raw)
    return content


def _expect(verdict: DrawVerdict, what: str, found: object, wanted: object) -> None:
    if found == wanted:
        verdict.checked.append(what)
    else:
        verdict.differences.append(f"{what}: {found!r} != {wanted!r}")


@dataclass(frozen=True)
class _Logged:
    seed_checkpoint: Checkpoint
    committed: dict[str, Any]
    drawn: dict[str, Any]


def _read_record(record: Any, secret_hex: str | None) -> tuple[list[draw_math.Line], bytes]:
    try:
        lines = [
            draw_math.Line(str(x["specialty"]), int(x["count"]), int(x["reserves"])) for x in record["lines"]
        ]
        drawn_at = record["log"]["drawn"]
        seed_info = record["checkpoint"]
    except (KeyError, TypeError, ValueError) as exc:
        raise VerifyError(f"the draw record is malformed: {exc}", EXIT_BAD_ANSWER) from None
    if seed_info is None or drawn_at is None:
        raise VerifyError("the draw has not been made yet", EXIT_LOCAL)
    secret_text = secret_hex or record.get("secret")
    if not secret_text:
        raise VerifyError("the secret is not revealed yet; give it with --secret", EXIT_LOCAL)
    try:
        secret = bytes.fromhex(secret_text)
    except ValueError:
        raise VerifyError("the secret must be hex", EXIT_LOCAL) from None
    if record.get("eligible") is None or record.get("assignments") is None:
        raise VerifyError("the record has no eligible set yet (published with the reveal)", EXIT_LOCAL)
    return lines, secret


def _check_log(api: _Api, record: Any, key: str, secret: bytes, verdict: DrawVerdict) -> _Logged:
    """Checkpoints, consistency, inclusion of the entries, and their agreement with the record."""
    seed_info, log_at = record["checkpoint"], record["log"]
    latest = _checkpoint(api.get("/log/checkpoint").text, key, "latest checkpoint")
    seed_cp = _checkpoint(str(seed_info["note"]), key, "seed checkpoint")
    _expect(verdict, "seed checkpoint size", seed_cp.size, seed_info["size"])
    _expect(verdict, "seed checkpoint root", seed_cp.root_hash.hex(), seed_info["root"])
    if seed_cp.size < latest.size:
        proof = api.json("/log/proof/consistency", first=seed_cp.size, second=latest.size)
        path = [_b64(h) for h in proof["proof"]]
        if not verify_consistency(seed_cp.size, latest.size, path, seed_cp.root_hash, latest.root_hash).ok:
            raise VerifyError("the seed checkpoint is not consistent with the latest one", EXIT_TAMPERED)
        verdict.checked.append("seed checkpoint consistent with the latest")
    committed_index = int(log_at["committed"])
    committed = _entry(api, committed_index, seed_cp, "commitment")
    drawn = _entry(api, int(log_at["drawn"]), latest, "draw")
    cdata, ddata = committed.get("data", {}), drawn.get("data", {})
    request_id = record["request"]
    _expect(
        verdict,
        "commitment entry",
        (committed.get("type"), cdata.get("request")),
        ("experts.draw_committed", request_id),
    )
    _expect(verdict, "draw entry", (drawn.get("type"), ddata.get("request")), ("experts.drawn", request_id))
    _expect(verdict, "logged commitment = record", cdata.get("secret_sha256"), record["secret_sha256"])
    _expect(verdict, "logged eligible hash = record", cdata.get("eligible_sha256"), record["eligible_sha256"])
    _expect(
        verdict,
        "logged seed checkpoint",
        (ddata.get("checkpoint_size"), ddata.get("checkpoint_root"), ddata.get("commitment_index")),
        (seed_cp.size, seed_cp.root_hash.hex(), committed_index),
    )
    if log_at.get("revealed") is not None:
        revealed = _entry(api, int(log_at["revealed"]), latest, "reveal")
        _expect(
            verdict, "revealed secret = secret used", revealed.get("data", {}).get("secret"), secret.hex()
        )
    return _Logged(seed_cp, cdata, ddata)


def _recompute(
    record: Any, lines: list[draw_math.Line], secret: bytes, logged: _Logged, verdict: DrawVerdict
) -> None:
    """Commitment, eligible hash, seed, order, selection and replacements."""
    cdata, ddata = logged.committed, logged.drawn
    _expect(
        verdict,
        "SHA-256(secret) = commitment",
        hashlib.sha256(secret).hexdigest(),
        cdata.get("secret_sha256"),
    )
    eligible = [[uuid.UUID(e) for e in ids] for ids in record["eligible"]]
    _expect(
        verdict, "eligible set hash", draw_math.eligible_hash(lines, eligible), cdata.get("eligible_sha256")
    )
    seed = draw_math.seed(secret, logged.seed_checkpoint.root_hash, uuid.UUID(record["request"]))
    try:
        picks, sequences = draw_math.select(seed, lines, eligible)
    except draw_math.DrawShort as short:
        verdict.differences.append(f"recomputed draw is short: {short}")
        return
    _expect(verdict, "selection hash", draw_math.drawn_hash(picks), ddata.get("drawn_sha256"))
    codes = [line.specialty for line in lines]
    recorded = {(a["specialty"], int(a["rank"])): a["expert"] for a in record["assignments"]}
    for pick in picks:
        code = codes[pick.line_index]
        _expect(verdict, f"{code} rank {pick.rank}", recorded.get((code, pick.rank)), str(pick.expert_id))
    initial = {(codes[p.line_index], p.rank) for p in picks}
    for (code, rank), expert in sorted(recorded.items()):
        if (code, rank) in initial:
            continue
        sequence = sequences[codes.index(code)] if code in codes else []
        wanted = str(sequence[rank]) if rank < len(sequence) else None
        _expect(verdict, f"replacement {code} rank {rank}", expert, wanted)


def verify_draw(
    client: httpx.Client, request_id: uuid.UUID, *, secret_hex: str | None = None, key: str | None = None
) -> DrawVerdict:
    """Check the draw ``request_id`` on the server ``client`` talks to (see the module docstring).

    Raises :class:`VerifyError` when the check cannot be made (or the log itself is inconsistent).
    """
    api = _Api(client)
    record = api.json(f"/public/expert-draws/{request_id}")
    lines, secret = _read_record(record, secret_hex)
    key = key or api.get("/log/key").text.strip()
    verdict = DrawVerdict(str(request_id))
    try:
        logged = _check_log(api, record, key, secret, verdict)
        _recompute(record, lines, secret, logged, verdict)
    except (KeyError, TypeError, ValueError) as exc:
        raise VerifyError(f"the draw record or a log entry is malformed: {exc}", EXIT_BAD_ANSWER) from None
    return verdict
