"""``sealbid opening verify``: a monitor checks an opening from the public log alone (client side only).

From the tender's entries in the transparency log (``docs/opening.md``, "The monitor's check"):

* ``after-deadline``: the closing, the opening's start and every envelope decision are logged at or
  after the bid deadline stated in ``tender.closed``;
* ``received-set``: every version disclosed by ``opening.bid_disclosed`` recomputes to a commitment that
  a blinded ``bid.version`` entry logged before the deadline carries, so the disclosed bids are the
  ones received (and no version was invented afterwards);
* ``closing-list``: the standing envelopes of the disclosed bids are exactly the envelopes counted and
  hashed by ``tender.closed`` (``envelope_list_sha256``);
* ``opened-set``: every standing envelope has exactly one ``opening.envelope_decided`` entry and no
  other envelope has one; ``tender.opened`` is logged exactly once and its opened, revoked and
  withdrawn counts and ``outcomes_sha256`` are those of the decisions plus the bids disclosed as
  withdrawn before the deadline.

The ``bid.version`` entries are blinded, so a bid left out of both the closing list and the
disclosures is not visible from the log: only its bidder, with its receipt, can show it was received.

The command fetches the signed checkpoint (verified with ``--key`` or the server's published key),
every entry up to it (each re-hashed and the tree root recomputed), then runs :func:`check_opening`.
Depends only on ``crypto``, ``httpx`` and ``click``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
import httpx
import rfc8785

from api.client.http import default_server, normalise_url
from crypto.checkpoint import CheckpointError, verify_checkpoint
from crypto.merkle import leaf_hash, node_hash
from crypto.receipt import version_commitment
from crypto.signednote import NoteError, parse_verifier_key


class OpeningCheckError(Exception):
    """The log could not be fetched or does not verify."""


@dataclass(frozen=True)
class OpeningCheck:
    """The verdict of the monitor's check: ``ok`` and, per failed check, its reasons."""

    tender: str
    ok: bool
    deadline: str | None
    envelopes: tuple[str, ...]
    decided: dict[str, str]
    problems: tuple[str, ...] = field(default=())


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _disclosed_versions(
    disclosure: dict[str, Any],
    tender: str,
    logged: dict[str, datetime],
    deadline: datetime,
    problems: list[str],
) -> str | None:
    """Check one disclosure's versions against the log; its standing envelope, if any."""
    try:
        salt = bytes.fromhex(str(disclosure["salt"]))
        versions = list(disclosure["versions"])
        bid = str(disclosure["bid"])
    except (KeyError, TypeError, ValueError):
        problems.append("received-set: a bid disclosure is malformed")
        return None
    for version in versions:
        recomputed = version_commitment(
            tender=tender,
            bid=bid,
            version=int(version["version"]),
            kind=str(version["kind"]),
            lots=[int(n) for n in version["lots"]],
            envelope_sha256=version["envelope_sha256"],
            bidder=str(disclosure["bidder_commitment"]),
            salt=salt,
        )
        if recomputed != version.get("commitment"):
            problems.append(f"received-set: bid {bid} version {version['version']} does not recompute")
        elif recomputed not in logged:
            problems.append(f"received-set: bid {bid} version {version['version']} was never logged")
        elif logged[recomputed] >= deadline:
            problems.append(
                f"received-set: bid {bid} version {version['version']} was logged after the deadline"
            )
    if not disclosure.get("standing") or not versions:
        return None
    last = versions[-1]
    return str(last["envelope_sha256"]) if last.get("envelope_sha256") else None


def _last_envelope(disclosure: dict[str, Any]) -> str | None:
    """The last envelope of a bid withdrawn before the deadline (its outcome row's envelope)."""
    try:
        with_envelope = [v for v in disclosure["versions"] if v.get("envelope_sha256")]
    except (KeyError, TypeError, AttributeError):
        return None
    return str(with_envelope[-1]["envelope_sha256"]) if with_envelope else None


def _check_opened(
    own: list[dict[str, Any]], decided: dict[str, str], withdrawn_in_time: list[str]
) -> list[str]:
    """``tender.opened`` is logged once and states the outcomes the log shows.

    Its counts cover every bid of the closing: the decided standing envelopes and the bids withdrawn
    before the deadline (disclosed with ``standing`` false, outcome *withdrawn*); its
    ``outcomes_sha256`` is SHA-256 of the sorted ``envelope:outcome`` lines of all of them.
    """
    opened = [d for d in own if d.get("type") == "tender.opened"]
    if len(opened) != 1:
        failed = any(d.get("type") == "tender.failed" for d in own)
        why = " (the tender failed at its closing: nothing was opened)" if failed else ""
        return [f"opened-set: the log holds {len(opened)} tender.opened entries of this tender, not one{why}"]
    data = opened[0].get("data")
    if not isinstance(data, dict):
        return ["opened-set: tender.opened states no counts"]
    outcomes = {**dict.fromkeys(withdrawn_in_time, "withdrawn"), **decided}
    counts = Counter(outcomes.values())
    problems = [
        f"opened-set: tender.opened counts {data.get(kind)} {kind}, the log shows {counts.get(kind, 0)}"
        for kind in ("opened", "revoked", "withdrawn")
        if data.get(kind) != counts.get(kind, 0)
    ]
    lines = sorted(f"{envelope}:{outcome}" for envelope, outcome in outcomes.items())
    if data.get("outcomes_sha256") != hashlib.sha256("\n".join(lines).encode()).hexdigest():
        problems.append(
            "opened-set: tender.opened's outcomes_sha256 does not hash the outcomes the log shows"
        )
    return problems


def _load(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def check_opening(entries: Iterable[bytes], tender: str) -> OpeningCheck:
    """Check a tender's opening from the raw log entries (see the module docstring)."""
    documents = [document for raw in entries if isinstance(document := _load(raw), dict)]
    logged = {
        str(d["data"]["commitment"]): t
        for d in documents
        if d.get("type") == "bid.version" and d.get("tender") is None
        and isinstance(d.get("data"), dict) and (t := _time(d.get("time"))) is not None
    }  # fmt: skip
    own = [d for d in documents if d.get("tender") == tender]
    problems: list[str] = []
    closed = [d for d in own if d.get("type") == "tender.closed"]
    if len(closed) != 1:
        problems.append(f"after-deadline: the log holds {len(closed)} closings of this tender, not one")
        return OpeningCheck(tender, False, None, (), {}, tuple(problems))
    data = closed[0]["data"]
    deadline = _time(data.get("deadline"))
    if deadline is None:
        return OpeningCheck(tender, False, None, (), {}, ("after-deadline: the closing states no deadline",))
    for entry in own:
        if entry.get("type") in (
            "tender.closed",
            "opening.started",
            "opening.envelope_decided",
            "tender.opened",
        ):
            moment = _time(entry.get("time"))
            if moment is None or moment < deadline:
                problems.append(
                    f"after-deadline: {entry['type']} is logged at {entry.get('time')}, before the deadline"
                )
    standing: list[str] = []
    withdrawn_in_time: list[str] = []
    for disclosure in (d["data"] for d in own if d.get("type") == "opening.bid_disclosed"):
        envelope = _disclosed_versions(disclosure, tender, logged, deadline, problems)
        if envelope is not None:
            standing.append(envelope)
        elif (last := _last_envelope(disclosure)) is not None:
            withdrawn_in_time.append(last)
    listed = hashlib.sha256(bytes(rfc8785.dumps(sorted(standing)))).hexdigest()
    if len(standing) != data.get("envelopes") or listed != data.get("envelope_list_sha256"):
        problems.append(
            f"closing-list: the disclosed bids stand with {len(standing)} envelopes hashing to {listed}; "
            f"the closing logged {data.get('envelopes')} hashing to {data.get('envelope_list_sha256')}"
        )
    decisions = [d["data"] for d in own if d.get("type") == "opening.envelope_decided"]
    counted = Counter(str(d.get("envelope_sha256")) for d in decisions)
    twice = sorted(e for e, n in counted.items() if n > 1)
    if twice:
        problems.append(f"opened-set: envelopes decided more than once: {', '.join(twice)}")
    if set(counted) != set(standing):
        missing, extra = sorted(set(standing) - set(counted)), sorted(set(counted) - set(standing))
        problems.append(
            f"opened-set: undecided {missing or 'none'}; decided but not standing {extra or 'none'}"
        )
    decided = {str(d.get("envelope_sha256")): str(d.get("outcome")) for d in decisions}
    problems.extend(_check_opened(own, decided, withdrawn_in_time))
    return OpeningCheck(
        tender, not problems, data.get("deadline"), tuple(sorted(standing)), decided, tuple(problems)
    )


def _root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 Merkle tree hash over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_root(leaves[:split]), _root(leaves[split:]))


def fetch_verified_entries(client: httpx.Client, key_text: str | None) -> list[bytes]:
    """Every log entry up to the signed checkpoint, re-hashed and checked against its root."""
    try:
        key = parse_verifier_key(key_text or client.get("/log/key").text.strip())
        verdict = verify_checkpoint(client.get("/log/checkpoint").content, key, key.name)
    except (NoteError, CheckpointError, httpx.HTTPError) as exc:
        raise OpeningCheckError(f"cannot read the log's signed checkpoint: {exc}") from None
    if not verdict.ok or verdict.checkpoint is None:
        raise OpeningCheckError(f"the checkpoint does not verify: {'; '.join(verdict.reasons)}")
    size = verdict.checkpoint.size
    entries: list[bytes] = []
    leaves: list[bytes] = []
    while len(entries) < size:
        start = len(entries)
        page = client.get("/log/entries", params={"start": start, "end": min(size, start + 1000)}).json()
        batch = [base64.b64decode(e["entry"]) for e in page.get("entries", [])]
        if not batch:
            raise OpeningCheckError(f"the log serves no entry at {start} below its size {size}")
        entries.extend(batch[: size - start])
        leaves.extend(leaf_hash(e) for e in batch[: size - start])
    if size and _root(leaves) != verdict.checkpoint.root_hash:
        raise OpeningCheckError(
            "the entries served do not hash to the checkpoint's root: the log was altered"
        )
    return entries


@click.group()
def opening() -> None:
    """Check a tender's opening against the public transparency log."""


@opening.command("verify")
@click.option("--server", default=default_server, show_default="$SEALBID_SERVER or http://127.0.0.1:8000")
@click.option("--tender", required=True, help="The tender id.")
@click.option("--key", "key_text", help="The log's verifier key (default: the one the server publishes).")
@click.pass_context
def verify(ctx: click.Context, *, server: str, tender: str, key_text: str | None) -> None:
    """Check that the opening happened after the deadline and opened exactly the bids received."""
    injected = (ctx.obj or {}).get("http_client") if isinstance(ctx.obj, dict) else None
    client = injected or httpx.Client(base_url=normalise_url(server), timeout=30.0)
    try:
        entries = fetch_verified_entries(client, key_text)
    except OpeningCheckError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if injected is None:
            client.close()
    result = check_opening(entries, tender)
    click.echo(f"Tender {tender}: deadline {result.deadline}, {len(result.envelopes)} envelope(s) stood.")
    for envelope in result.envelopes:
        click.echo(f"  {envelope}  {result.decided.get(envelope, 'undecided')}")
    if not result.ok:
        for problem in result.problems:
            click.echo(f"PROBLEM {problem}", err=True)
        raise click.ClickException("the opening does NOT check out against the log")
    click.echo("OK: opened after the deadline; the envelopes opened are exactly the bids received.")
