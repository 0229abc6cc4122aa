"""Client-side check of an expert draw: the log entries, the checkpoints and the recomputed order.

Uses only :mod:`crypto`, :mod:`experts.draw_math` (pure) and an HTTP client. Steps:

1. fetch the public draw record and the log's verifier key (or take a pinned one);
2. verify the latest checkpoint and the seed checkpoint (signature, origin), the consistency of the seed
   checkpoint with the latest, and that the record names the seed checkpoint's size and root;
3. fetch the commitment, draw and reveal entries, check each is in the log (inclusion proofs: the
   commitment in the seed checkpoint, whose size must exceed the commitment's index, the others in the
   latest) and that they agree with the record; check the seed checkpoint was the first after the
   commitment: the checkpoint signed just before it (``/log/checkpoints/preceding/{size}``) is signed by
   the log key, consistent with the seed checkpoint, and does not yet cover the commitment;
4. once the secret is revealed: recompute SHA-256(secret), the eligible-set hash, the seed, the order,
   the selection and its hash, and the rank of every replacement; every rank of a line's order below
   its highest replacement must be an assignment of the line, an expert holding a place in the request,
   or a logged ``experts.candidate_skipped`` entry (each checked in the log) — an unexplained skip
   differs.

The verdict says one of three things (:attr:`DrawVerdict.outcome`): ``matches`` (everything recomputed
and equal), ``not-revealed`` (the secret is not revealed yet: steps 1-3 passed, the order can be
recomputed after the award) or ``differs`` (each difference listed).
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


MATCHES: Final = "matches"
NOT_REVEALED: Final = "not-revealed"
DIFFERS: Final = "differs"
SKIPPED_EVENT: Final = "experts.candidate_skipped"
ASSIGNED_RULE: Final = "assigned"


@dataclass
class DrawVerdict:
    """The outcome: every difference found, every check passed, and whether the order was recomputed."""

    request_id: str
    differences: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    #: False while the secret is not revealed (and none was given): only the log could be checked.
    recomputed: bool = False

    @property
    def matches(self) -> bool:
        """True when the draw was recomputed and nothing differs."""
        return self.recomputed and not self.differences

    @property
    def outcome(self) -> str:
        """``matches``, ``not-revealed`` (nothing differs, the order awaits the secret) or ``differs``."""
        if self.differences:
            return DIFFERS
        return MATCHES if self.recomputed else NOT_REVEALED


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
    latest: Checkpoint
    committed: dict[str, Any]
    drawn: dict[str, Any]


@dataclass(frozen=True)
class _Record:
    lines: list[draw_math.Line]
    secret: bytes | None
    #: The eligible sets and assignments are public (after the reveal): the order can be recomputed.
    published: bool


def _read_record(record: Any, secret_hex: str | None) -> _Record:
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
    secret = None
    if secret_text:
        try:
            secret = bytes.fromhex(secret_text)
        except ValueError:
            raise VerifyError("the secret must be hex", EXIT_LOCAL) from None
    published = record.get("eligible") is not None and record.get("assignments") is not None
    return _Record(lines, secret, published)


def _first_after(
    api: _Api, key: str, seed_cp: Checkpoint, committed_index: int, verdict: DrawVerdict
) -> None:
    """The checkpoint signed just before the seed checkpoint must not cover the commitment yet."""
    before = _checkpoint(
        api.get(f"/log/checkpoints/preceding/{seed_cp.size}").text, key, "checkpoint before the seed"
    )
    if before.size >= seed_cp.size:
        raise VerifyError("the checkpoint before the seed checkpoint is not smaller", EXIT_BAD_ANSWER)
    if before.size > 0:
        proof = api.json("/log/proof/consistency", first=before.size, second=seed_cp.size)
        path = [_b64(h) for h in proof["proof"]]
        if not verify_consistency(before.size, seed_cp.size, path, before.root_hash, seed_cp.root_hash).ok:
            raise VerifyError("the checkpoint before the seed is not consistent with it", EXIT_TAMPERED)
    if before.size <= committed_index:
        verdict.checked.append("seed checkpoint is the first after the commitment")
    else:
        verdict.differences.append(
            f"seed checkpoint is not the first after the commitment: the checkpoint of size {before.size} "
            f"already covered entry {committed_index}"
        )


def _check_log(api: _Api, record: Any, key: str, secret: bytes | None, verdict: DrawVerdict) -> _Logged:
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
    if committed_index >= seed_cp.size:
        raise VerifyError(
            f"the commitment {committed_index} is not in the seed checkpoint of size {seed_cp.size}",
            EXIT_TAMPERED,
        )
    committed = _entry(api, committed_index, seed_cp, "commitment")
    _first_after(api, key, seed_cp, committed_index, verdict)
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
    if secret is not None and log_at.get("revealed") is not None:
        revealed = _entry(api, int(log_at["revealed"]), latest, "reveal")
        _expect(
            verdict, "revealed secret = secret used", revealed.get("data", {}).get("secret"), secret.hex()
        )
    return _Logged(seed_cp, latest, cdata, ddata)


def _recompute(
    api: _Api,
    record: Any,
    lines: list[draw_math.Line],
    secret: bytes,
    *,
    logged: _Logged,
    verdict: DrawVerdict,
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
    by_code = dict(zip(codes, sequences, strict=True))
    _check_skips(api, record, by_code, initial, latest=logged.latest, verdict=verdict)


def _logged_skips(
    api: _Api, record: Any, latest: Checkpoint, verdict: DrawVerdict
) -> dict[tuple[str, int], str]:
    """The record's skip entries, each proven in the log and agreeing with it: (specialty, rank) -> rule."""
    skips: dict[tuple[str, int], str] = {}
    for item in record.get("skips") or []:
        code, rank, rule = str(item["specialty"]), int(item["rank"]), str(item["rule"])
        content = _entry(api, int(item["log"]), latest, "skip")
        data = content.get("data", {})
        found = (content.get("type"), data.get("request"), data.get("specialty"), data.get("rank"))
        if found != (SKIPPED_EVENT, record["request"], code, rank) or data.get("rule") != rule:
            verdict.differences.append(f"skip entry {item['log']} does not say what the record says")
            continue
        skips[(code, rank)] = rule
    return skips


def _check_skips(
    api: _Api,
    record: Any,
    sequences: dict[str, list[uuid.UUID]],
    initial: set[tuple[str, int]],
    *,
    latest: Checkpoint,
    verdict: DrawVerdict,
) -> None:
    """Every rank below a line's highest replacement is taken, held elsewhere in the request, or logged."""
    skips = _logged_skips(api, record, latest, verdict)
    held = {str(a["expert"]) for a in record["assignments"]}
    ranks: dict[str, set[int]] = {}
    for a in record["assignments"]:
        ranks.setdefault(str(a["specialty"]), set()).add(int(a["rank"]))
    for (code, rank), rule in sorted(skips.items()):
        sequence = sequences.get(code, [])
        if rule == ASSIGNED_RULE and (rank >= len(sequence) or str(sequence[rank]) not in held):
            verdict.differences.append(f"{code} rank {rank} skipped as assigned, but holds no place")
    for code, sequence in sequences.items():
        replacements = [r for r in ranks.get(code, set()) if (code, r) not in initial]
        if not replacements:
            continue
        top = max(replacements)
        unexplained = [
            rank
            for rank in range(min(top, len(sequence)))
            if rank not in ranks[code] and str(sequence[rank]) not in held and (code, rank) not in skips
        ]
        if unexplained:
            verdict.differences.append(
                f"{code} ranks {unexplained} passed over below the replacement at rank {top} "
                "without a logged reason"
            )
        else:
            verdict.checked.append(f"{code}: every rank below the replacement at rank {top} is accounted for")


def verify_draw(
    client: httpx.Client, request_id: uuid.UUID, *, secret_hex: str | None = None, key: str | None = None
) -> DrawVerdict:
    """Check the draw ``request_id`` on the server ``client`` talks to (see the module docstring).

    Before the reveal (no secret in the record and none given) the log checks run and the verdict's
    outcome is ``not-revealed`` unless something already differs. Raises :class:`VerifyError` when
    the check cannot be made (or the log itself is inconsistent).
    """
    api = _Api(client)
    record = api.json(f"/public/expert-draws/{request_id}")
    parsed = _read_record(record, secret_hex)
    key = key or api.get("/log/key").text.strip()
    verdict = DrawVerdict(str(request_id))
    try:
        logged = _check_log(api, record, key, parsed.secret, verdict)
        if parsed.secret is not None and not parsed.published:
            _expect(
                verdict,
                "SHA-256(secret) = commitment",
                hashlib.sha256(parsed.secret).hexdigest(),
                logged.committed.get("secret_sha256"),
            )
        if parsed.secret is not None and parsed.published:
            _recompute(api, record, parsed.lines, parsed.secret, logged=logged, verdict=verdict)
            verdict.recomputed = True
    except (KeyError, TypeError, ValueError) as exc:
        raise VerifyError(f"the draw record or a log entry is malformed: {exc}", EXIT_BAD_ANSWER) from None
    return verdict
