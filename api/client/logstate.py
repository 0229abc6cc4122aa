"""State of the log monitor: errors and exit codes, the saved state, the compact range.

Depends only on the standard library and ``crypto``. The state of one server is a JSON file (pinned
verifier key, last verified checkpoint and its compact range) and a sidecar ``.leaves`` file with every
leaf hash verified so far (32 bytes each, in index order), used to say exactly which entry a rewritten
history changed. Both are written atomically and only after a fully successful run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from crypto.merkle import EMPTY_ROOT, NodeKey, compute_new_nodes, perfect_nodes, range_hash

EXIT_OK: Final = 0
EXIT_LOCAL: Final = 1
"""Bad arguments, an unreadable state file, a key that differs from the pinned one."""
EXIT_NETWORK: Final = 3
"""The server could not be reached or failed (5xx): try again later."""
EXIT_TAMPERED: Final = 4
"""Evidence that the log misbehaved: bad signature, fork, rewritten or missing entries."""
EXIT_BAD_ANSWER: Final = 5
"""The server answered something that is not a valid answer of the log API."""


class MonitorError(Exception):
    """A failed run: a message in plain words and the exit code that classifies it."""

    exit_code = EXIT_LOCAL


class LocalProblem(MonitorError):
    """Something on this machine or in the arguments is wrong."""


class NetworkTrouble(MonitorError):
    """The server could not be reached or did not work."""

    exit_code = EXIT_NETWORK


class BadAnswer(MonitorError):
    """The server's answer does not follow the log API."""

    exit_code = EXIT_BAD_ANSWER


class TamperEvidence(MonitorError):
    """The log contradicts itself or an earlier checkpoint: report it."""

    exit_code = EXIT_TAMPERED


def normalise_url(url: str) -> str:
    """``scheme://host[:port][/path]`` without a trailing slash, lower-case host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LocalProblem(f"{url!r} is not an http(s) server address")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}{parts.path.rstrip('/')}"


def default_state_file(server: str) -> Path:
    """``$SEALBID_CLIENT_STATE_DIR`` (or ``~/.local/state/sealbid``)``/logmonitor/<hash of URL>.json``."""
    configured = os.environ.get("SEALBID_CLIENT_STATE_DIR")
    base = Path(configured) if configured else Path.home() / ".local" / "state" / "sealbid"
    key = hashlib.sha256(normalise_url(server).encode()).hexdigest()[:24]
    return base / "logmonitor" / f"{key}.json"


def b64(h: bytes) -> str:
    """Standard base64 text of ``h`` (how the log shows hashes)."""
    return base64.b64encode(h).decode("ascii")


# --- state -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorState:
    """What a monitor remembers about one log after a successful run."""

    server: str
    verifier_key: str
    size: int
    root: bytes
    note: str
    compact_range: tuple[bytes, ...]
    verified_at: str

    def to_json(self) -> dict[str, Any]:
        """The JSON form saved on disk."""
        return {
            "server": self.server,
            "verifier_key": self.verifier_key,
            "size": self.size,
            "root": b64(self.root),
            "checkpoint": self.note,
            "compact_range": [b64(h) for h in self.compact_range],
            "verified_at": self.verified_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> MonitorState:
        """Parse the saved form; raise :class:`LocalProblem` when it is damaged."""
        try:
            state = cls(
                str(data["server"]),
                str(data["verifier_key"]),
                int(data["size"]),
                base64.b64decode(data["root"], validate=True),
                str(data["checkpoint"]),
                tuple(base64.b64decode(h, validate=True) for h in data["compact_range"]),
                str(data["verified_at"]),
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise LocalProblem(f"the monitor state is damaged ({exc}); remove it to start again") from exc
        try:
            ok = CompactRange(state.size, list(state.compact_range)).root() == state.root
        except (LocalProblem, ValueError) as exc:
            raise LocalProblem(f"the monitor state is damaged ({exc}); remove it to start again") from exc
        if not ok:
            raise LocalProblem("the monitor state is damaged: its compact range does not hash to its root")
        return state


class StateFiles:
    """The state JSON and the sidecar of verified leaf hashes (32 bytes each, in index order)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.leaves = path.with_suffix(".leaves")

    def load(self) -> MonitorState | None:
        """The saved state, or None before the first successful run."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LocalProblem(f"cannot read the monitor state {self.path}: {exc}") from exc
        try:
            return MonitorState.from_json(json.loads(text))
        except ValueError as exc:
            raise LocalProblem(
                f"the monitor state {self.path} is not JSON; remove it to start again"
            ) from exc

    def saved_leaves(self, count: int) -> list[bytes]:
        """The first ``count`` verified leaf hashes (fewer if the sidecar is shorter)."""
        try:
            data = self.leaves.read_bytes()[: count * 32]
        except FileNotFoundError:
            return []
        return [data[i : i + 32] for i in range(0, len(data) - len(data) % 32, 32)]

    def save(self, state: MonitorState, leaves: list[bytes], *, replace: bool) -> None:
        """Save ``state`` and its leaves (all of them if ``replace``, else appended), atomically each."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if replace or not self.leaves.exists():
            _atomic_write(self.leaves, b"".join(leaves))
        elif leaves:
            with self.leaves.open("r+b") as handle:
                handle.truncate(state.size * 32 - len(leaves) * 32)
                handle.seek(0, os.SEEK_END)
                handle.write(b"".join(leaves))
                handle.flush()
                os.fsync(handle.fileno())
        _atomic_write(self.path, json.dumps(state.to_json(), indent=1).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


# --- the tree on the monitor's side ------------------------------------------------------------


class CompactRange:
    """The right-edge perfect-subtree hashes of a tree: enough to extend it and compute its root."""

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        keys = perfect_nodes(0, size)
        hashes = hashes or []
        if len(hashes) != len(keys):
            raise LocalProblem(f"a compact range of size {size} has {len(keys)} hashes, not {len(hashes)}")
        self.size = size
        self.nodes: dict[NodeKey, bytes] = dict(zip(keys, hashes, strict=True))

    def hashes(self) -> list[bytes]:
        """The hashes, left to right."""
        return [self.nodes[key] for key in perfect_nodes(0, self.size)]

    def extend(self, leaf_hashes: list[bytes]) -> None:
        """Append leaves."""
        new = dict(compute_new_nodes(self.size, leaf_hashes, self.nodes))
        self.size += len(leaf_hashes)
        every = {**self.nodes, **new}
        self.nodes = {key: every[key] for key in perfect_nodes(0, self.size)}

    def root(self) -> bytes:
        """MTH of the tree."""
        return range_hash(self.hashes()) if self.size else EMPTY_ROOT
