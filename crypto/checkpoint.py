"""C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint), signed as C2SP notes.

The checkpoint text is::

    <origin>\\n
    <tree size, decimal, no leading zeros>\\n
    <root hash, base64 of 32 bytes>\\n
    [<extension line>\\n ...]

:class:`Checkpoint` parses and formats it strictly. :func:`sign_checkpoint` makes the signed note;
:func:`verify_checkpoint` checks the log's signature and the expected origin and returns a
:class:`CheckpointVerdict`. :class:`CheckpointError` (a ``ValueError``) is raised for malformed text.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final

from crypto.signednote import NoteSigner, NoteVerifier, open_note, parse_signer_key, sign_note

__all__ = [
    "MAX_TREE_SIZE",
    "Checkpoint",
    "CheckpointError",
    "CheckpointVerdict",
    "sign_checkpoint",
    "verify_checkpoint",
]

MAX_TREE_SIZE: Final = 2**64 - 1
"""Largest tree size accepted (RFC 9162 sizes are 64-bit)."""

_SIZE: Final = re.compile(r"0|[1-9][0-9]*")
_HASH_SIZE: Final = 32


class CheckpointError(ValueError):
    """A malformed checkpoint text or field."""


def _check_line(what: str, line: str) -> None:
    if not isinstance(line, str) or not line:
        raise CheckpointError(f"{what} must be a non-empty string")
    if any(ch < " " for ch in line):
        raise CheckpointError(f"{what} must not contain newlines or control characters")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError("tree size must be an int")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size} is out of range")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != _HASH_SIZE:
            raise CheckpointError(f"root hash must be {_HASH_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("extensions must be a tuple of lines")
        for line in self.extensions:
            _check_line("extension line", line)

    def to_text(self) -> str:
        """Return the checkpoint text (the note body), ending with a newline."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint text strictly; raise :class:`CheckpointError` if it is malformed."""
        if not isinstance(text, str):
            raise CheckpointError(f"checkpoint text must be str, not {type(text).__name__}")
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint text needs origin, size and root hash lines")
        origin, size_text, root_text, *extensions = lines
        if len(size_text) > len(str(MAX_TREE_SIZE)) or not _SIZE.fullmatch(size_text):
            raise CheckpointError(f"tree size {size_text!r} is not a decimal without leading zeros")
        try:
            root = base64.b64decode(root_text.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error) as exc:
            raise CheckpointError("root hash is not valid base64") from exc
        if base64.b64encode(root).decode("ascii") != root_text:
            raise CheckpointError("root hash is not canonical base64")
        return cls(origin, int(size_text), root, tuple(extensions))


@dataclass(frozen=True, slots=True)
class CheckpointVerdict:
    """Outcome of :func:`verify_checkpoint`: the checkpoint when ``ok`` (else None), and the reasons."""

    ok: bool
    checkpoint: Checkpoint | None = None
    reasons: tuple[str, ...] = ()


def sign_checkpoint(cp: Checkpoint, signer_key: NoteSigner | str) -> bytes:
    """Return the checkpoint as a signed note, signed by the log key (object or signer key text)."""
    signer = parse_signer_key(signer_key) if isinstance(signer_key, str) else signer_key
    return sign_note(cp.to_text(), signer)


def verify_checkpoint(note: bytes, verifier_key: NoteVerifier | str, origin: str) -> CheckpointVerdict:
    """Verify a signed checkpoint: a valid signature by ``verifier_key`` and the expected ``origin``.

    Signatures by other keys (e.g. witnesses) are ignored. Raises :class:`~crypto.signednote.NoteError`
    for a malformed note and :class:`CheckpointError` for a signed but malformed checkpoint text.
    """
    verdict = open_note(note, [verifier_key])
    if not verdict.ok:
        return CheckpointVerdict(False, None, verdict.reasons)
    cp = Checkpoint.parse(verdict.text)
    if cp.origin != origin:
        return CheckpointVerdict(False, None, (f"origin {cp.origin!r} is not the expected {origin!r}",))
    return CheckpointVerdict(True, cp)
