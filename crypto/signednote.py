"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

A note is a UTF-8 text ending in a newline, a blank line, and one or more signature lines
``— <key name> <base64(4-byte key ID || signature)>``. The key ID of an Ed25519 key is the first four
bytes of SHA-256(name || 0x0A || 0x01 || 32-byte public key). Keys are exchanged as text in the format
of Go's ``golang.org/x/mod/sumdb/note``:

* verifier key: ``<name>+<key ID, 8 lowercase hex>+<base64(0x01 || public key)>``
* signer key:   ``PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || 32-byte seed)>`` (secret)

:func:`open_note` returns a :class:`NoteVerdict`; :class:`NoteError` (a ``ValueError``) is raised only
for malformed notes, keys and names. Base64 must be canonical (standard alphabet, padded).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "NoteError",
    "NoteSignature",
    "NoteSigner",
    "NoteVerdict",
    "NoteVerifier",
    "ParsedNote",
    "check_key_name",
    "cosign_note",
    "generate_signer",
    "key_id",
    "open_note",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
    "verifier_key_text",
]

ALG_ED25519: Final = 0x01
"""Signature type byte of Ed25519 in C2SP signed notes."""

MAX_SIGNATURES: Final = 100
"""Notes with more signature lines than this are rejected as malformed (as Go does)."""

_SIG_PREFIX: Final = "\u2014 "  # em dash, space
_HEX8: Final = re.compile(r"[0-9a-f]{8}")
_ED25519_SIG_SIZE: Final = 64


class NoteError(ValueError):
    """A malformed note, key text or key name."""


def check_key_name(name: str) -> None:
    """Raise :class:`NoteError` unless ``name`` is a valid key name (non-empty, no spaces, no '+')."""
    if not isinstance(name, str) or not name:
        raise NoteError("key name must be a non-empty string")
    if "+" in name:
        raise NoteError(f"key name {name!r} contains '+'")
    if any(ch.isspace() or ch < " " for ch in name):
        raise NoteError(f"key name {name!r} contains a space or a control character")


def key_id(name: str, public_key: bytes) -> int:
    """Return the 32-bit key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || public_key)[:4]."""
    check_key_name(name)
    if len(public_key) != 32:
        raise NoteError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A named Ed25519 public key that can check note signatures."""

    name: str
    key_id: int
    public_key: bytes

    def __post_init__(self) -> None:
        if key_id(self.name, self.public_key) != self.key_id:
            raise NoteError(f"key ID {self.key_id:08x} does not match key {self.name}")

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != _ED25519_SIG_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def to_text(self) -> str:
        """Return the verifier key text ``name+hash+base64(0x01 || public key)``."""
        return verifier_key_text(self.name, self.public_key)


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes. Keep it secret; its repr hides the key."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> int:
        """The 32-bit key ID."""
        return key_id(self.name, self.public_key)

    def verifier(self) -> NoteVerifier:
        """Return the matching verifier."""
        return NoteVerifier(self.name, self.key_id, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self.private_key.sign(message)

    def to_text(self) -> str:
        """Return the signer key text ``PRIVATE+KEY+name+hash+base64(0x01 || seed)`` (secret)."""
        seed = self.private_key.private_bytes_raw()
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{_b64(bytes([ALG_ED25519]) + seed)}"


def verifier_key_text(name: str, public_key: bytes) -> str:
    """Return the verifier key text of a raw 32-byte Ed25519 public key."""
    kid = key_id(name, public_key)
    return f"{name}+{kid:08x}+{_b64(bytes([ALG_ED25519]) + public_key)}"


def generate_signer(name: str) -> tuple[str, str]:
    """Generate a new Ed25519 key named ``name``; return ``(signer_key_text, verifier_key_text)``."""
    signer = NoteSigner(name, Ed25519PrivateKey.generate())
    return signer.to_text(), signer.verifier().to_text()


def _split_key(text: str, parts: int, what: str) -> list[str]:
    # Names never contain '+', base64 may: split only as often as the format has fields.
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise NoteError(f"malformed {what}: expected {parts} '+'-separated fields")
    return fields


def _parse_key_fields(name: str, hash_hex: str, key_b64: str, what: str) -> tuple[int, bytes]:
    check_key_name(name)
    if not _HEX8.fullmatch(hash_hex):
        raise NoteError(f"malformed {what}: key ID must be 8 lowercase hex digits")
    raw = _b64decode(key_b64, what)
    if len(raw) != 33:
        raise NoteError(f"malformed {what}: key data must be 33 bytes, got {len(raw)}")
    if raw[0] != ALG_ED25519:
        raise NoteError(f"unsupported {what} algorithm {raw[0]}")
    return int(hash_hex, 16), raw[1:]


def parse_verifier_key(text: str) -> NoteVerifier:
    """Parse a verifier key text; raise :class:`NoteError` if malformed or its key ID is wrong."""
    name, hash_hex, key_b64 = _split_key(text, 3, "verifier key")
    kid, public_key = _parse_key_fields(name, hash_hex, key_b64, "verifier key")
    return NoteVerifier(name, kid, public_key)


def parse_signer_key(text: str) -> NoteSigner:
    """Parse a signer key text; raise :class:`NoteError` if malformed or its key ID is wrong."""
    private, key, name, hash_hex, key_b64 = _split_key(text, 5, "signer key")
    if (private, key) != ("PRIVATE", "KEY"):
        raise NoteError("malformed signer key: must start with PRIVATE+KEY+")
    kid, seed = _parse_key_fields(name, hash_hex, key_b64, "signer key")
    signer = NoteSigner(name, Ed25519PrivateKey.from_private_bytes(seed))
    if signer.key_id != kid:
        raise NoteError(f"signer key ID {kid:08x} does not match its key")
    return signer


# --- notes ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, key ID and the raw signature (without the key ID)."""

    name: str
    key_id: int
    signature: bytes

    def to_line(self) -> str:
        """Return the signature line, ending in a newline."""
        return f"{_SIG_PREFIX}{self.name} {_b64(self.key_id.to_bytes(4, 'big') + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class ParsedNote:
    """The syntactic parts of a signed note. Its text is NOT authenticated."""

    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True, slots=True)
class NoteVerdict:
    """Outcome of :func:`open_note`.

    ``text`` is the note text when ``ok`` and empty otherwise (unverified text must be ignored);
    ``signed_by`` names the known keys whose signatures verified; ``ignored`` lists the signatures
    (``name+keyid``) from unknown keys; ``reasons`` says why the note was rejected.
    """

    ok: bool
    text: str
    signed_by: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


def _check_text(text: str) -> bytes:
    if not isinstance(text, str):
        raise NoteError(f"note text must be str, not {type(text).__name__}")
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_chars(text)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError("note text is not valid Unicode") from exc


def _check_chars(s: str) -> None:
    for ch in s:
        if ch < " " and ch != "\n":
            raise NoteError(f"note contains the control character {ch!r}")


def sign_note(text: str, signers: NoteSigner | Sequence[NoteSigner]) -> bytes:
    """Sign ``text`` (which must end with a newline) with one or more signers; return the note bytes."""
    if isinstance(signers, NoteSigner):
        signers = [signers]
    if not signers:
        raise NoteError("a note needs at least one signer")
    message = _check_text(text)
    lines = [NoteSignature(s.name, s.key_id, s.sign(message)).to_line() for s in signers]
    return (text + "\n" + "".join(lines)).encode()


def cosign_note(note: bytes, signers: NoteSigner | Sequence[NoteSigner]) -> bytes:
    """Add signatures to an existing note, replacing any earlier signature by the same key.

    The existing signatures are kept as they are, without being verified.
    """
    if isinstance(signers, NoteSigner):
        signers = [signers]
    parsed = parse_note(note)
    message = parsed.text.encode()
    new = [NoteSignature(s.name, s.key_id, s.sign(message)) for s in signers]
    replaced = {(s.name, s.key_id) for s in new}
    kept = [s for s in parsed.signatures if (s.name, s.key_id) not in replaced]
    return (parsed.text + "\n" + "".join(s.to_line() for s in [*kept, *new])).encode()


def parse_note(note: bytes) -> ParsedNote:
    """Split a signed note into its text and signature lines, checking syntax only."""
    if not isinstance(note, bytes):
        raise NoteError(f"note must be bytes, not {type(note).__name__}")
    try:
        msg = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("note is not valid UTF-8") from exc
    _check_chars(msg)
    split = msg.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = msg[: split + 1], msg[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("note must end with signature lines, each ending in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return ParsedNote(text, tuple(_parse_signature_line(line) for line in lines))


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("signature line must start with an em dash and a space")
    name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep:
        raise NoteError("signature line lacks a space between key name and signature")
    check_key_name(name)
    raw = _b64decode(b64, "signature")
    if len(raw) < 5:
        raise NoteError("signature is shorter than a key ID and one byte")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def open_note(note: bytes, verifiers: Iterable[NoteVerifier | str]) -> NoteVerdict:
    """Parse ``note`` and verify its signatures against the known ``verifiers`` (objects or key texts).

    Signatures from unknown keys (no verifier with the same name AND key ID) are ignored. Every
    signature from a known key must verify; the note is ok when at least one does and none fails.
    Raises :class:`NoteError` for a malformed note or an ambiguous verifier list.
    """
    known: dict[tuple[str, int], NoteVerifier] = {}
    for item in verifiers:
        v = parse_verifier_key(item) if isinstance(item, str) else item
        prior = known.setdefault((v.name, v.key_id), v)
        if prior.public_key != v.public_key:
            raise NoteError(f"ambiguous verifiers for key {v.name}+{v.key_id:08x}")
    parsed = parse_note(note)
    message = parsed.text.encode()
    signed_by: dict[str, None] = {}
    ignored: dict[str, None] = {}
    reasons: list[str] = []
    for sig in parsed.signatures:
        label = f"{sig.name}+{sig.key_id:08x}"
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            ignored.setdefault(label)
        elif verifier.verify(message, sig.signature):
            signed_by.setdefault(sig.name)
        else:
            reasons.append(f"invalid signature by key {label}")
    if not signed_by and not reasons:
        reasons.append("no signature by a known key")
    ok = not reasons
    return NoteVerdict(ok, parsed.text if ok else "", tuple(signed_by), tuple(ignored), tuple(reasons))


# --- base64 -----------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Decode canonical standard base64 (padded; no whitespace; unused bits zero)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise NoteError(f"malformed {what}: invalid base64") from exc
    if _b64(raw) != text:
        raise NoteError(f"malformed {what}: non-canonical base64")
    return raw
