"""C2SP tlog-checkpoint: real sum.golang.org checkpoints, strict parsing, signing, every failure path."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    CheckpointError,
    CheckpointVerdict,
    sign_checkpoint,
    verify_checkpoint,
)
from crypto.signednote import (
    NoteError,
    NoteSigner,
    cosign_note,
    generate_signer,
    parse_signer_key,
    sign_note,
)

# The Go checksum database key (cmd/go/internal/modfetch/key.go) and checkpoints it signed, as
# published by https://sum.golang.org/latest and recorded in public test suites.
SUMDB_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_ORIGIN = "go.sum database tree"
SUMDB_CHECKPOINTS = [
    (
        30055305,
        "mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=",
        "Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=",
    ),
    (
        31700353,
        "qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=",
        "Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/C3YI8oW9/C8DJ87F61QqspBYwM=",
    ),
    (
        65209736,
        "5+uGFjx6xBZG8ip1+wi77v+grwbhhukIrxEUS8PXvRo=",
        "Az3grnbssgK7ubgFX36gVETtNv0U23qxyAhAMai2QUfeGa3nB/akvkMdlUErfcZz7l/R3cVtYspg3dxXABkGZZKdsQ8=",
    ),
]

ORIGIN = "sealbid.example/log"
ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
URLSAFE_ROOT = base64.urlsafe_b64encode(bytes([0xFF] * 32)).decode()


def sumdb_note(size: int, root: str, sig: str) -> bytes:
    return f"{SUMDB_ORIGIN}\n{size}\n{root}\n\n— sum.golang.org {sig}\n".encode()


@pytest.fixture(scope="module")
def log_keys() -> tuple[str, str]:
    return generate_signer(ORIGIN)


# --- interoperability -----------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "root", "sig"), SUMDB_CHECKPOINTS)
def test_real_sumdb_checkpoints_verify(size: int, root: str, sig: str) -> None:
    signed = sumdb_note(size, root, sig)
    verdict = verify_checkpoint(signed, SUMDB_KEY, SUMDB_ORIGIN)
    assert verdict.ok, verdict.reasons
    assert verdict.checkpoint == Checkpoint(SUMDB_ORIGIN, size, base64.b64decode(root))
    assert verdict.checkpoint.to_text() == f"{SUMDB_ORIGIN}\n{size}\n{root}\n"
    # the same checkpoint with its size changed no longer verifies
    assert not verify_checkpoint(sumdb_note(size + 1, root, sig), SUMDB_KEY, SUMDB_ORIGIN).ok


def test_c2sp_example_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.parse(text)
    assert (cp.origin, cp.size, len(cp.root_hash), cp.extensions) == (
        "example.com/behind-the-sofa",
        20852163,
        32,
        (),
    )
    assert cp.to_text() == text


# --- formatting and parsing -----------------------------------------------------------------------


def test_to_text_and_extensions() -> None:
    cp = Checkpoint(ORIGIN, 0, ROOT, ("ext one", "ext-two"))
    assert cp.to_text() == f"{ORIGIN}\n0\n{ROOT_B64}\next one\next-two\n"
    assert Checkpoint.parse(cp.to_text()) == cp


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n5\n{ROOT_B64}",  # no final newline
        f"{ORIGIN}\n5\n",  # no root
        f"{ORIGIN}\n",
        "",
        f"\n5\n{ROOT_B64}\n",  # empty origin
        f"{ORIGIN}\n05\n{ROOT_B64}\n",  # leading zero
        f"{ORIGIN}\n00\n{ROOT_B64}\n",
        f"{ORIGIN}\n+5\n{ROOT_B64}\n",
        f"{ORIGIN}\n-5\n{ROOT_B64}\n",
        f"{ORIGIN}\n 5\n{ROOT_B64}\n",
        f"{ORIGIN}\n5 \n{ROOT_B64}\n",
        f"{ORIGIN}\n1_000\n{ROOT_B64}\n",
        f"{ORIGIN}\n\u0661\n{ROOT_B64}\n",  # Arabic-Indic digit one
        f"{ORIGIN}\n0x10\n{ROOT_B64}\n",
        f"{ORIGIN}\n\n{ROOT_B64}\n",
        f"{ORIGIN}\n{MAX_TREE_SIZE + 1}\n{ROOT_B64}\n",
        f"{ORIGIN}\n{'9' * 5000}\n{ROOT_B64}\n",
        f"{ORIGIN}\n5\n{ROOT_B64[:-1]}\n",  # bad padding
        f"{ORIGIN}\n5\n{ROOT_B64.rstrip('=')}\n",
        f"{ORIGIN}\n5\n{ROOT_B64[:-2]}9=\n",  # non-canonical: unused bits set
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31-byte root
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT + b'x').decode()}\n",  # 33-byte root
        f"{ORIGIN}\n5\n{URLSAFE_ROOT}\n",  # URL-safe alphabet
        f"{ORIGIN}\n5\n\n",
        f"{ORIGIN}\n5\n{ROOT_B64}\n\n",  # empty extension line
        f"{ORIGIN}\n5\n{ROOT_B64}\next\n\n",
        f"{ORIGIN}\r\n5\n{ROOT_B64}\n",  # control character in origin
        f"{ORIGIN}\n5\n{ROOT_B64}\next\x00\n",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


def test_parse_rejects_bytes() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(f"{ORIGIN}\n5\n{ROOT_B64}\n".encode())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, MAX_TREE_SIZE + 1, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1.0, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT_B64, ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("a\nb",)),
        (ORIGIN, 1, ROOT, ["ext"]),
    ],
)
def test_constructor_rejects(fields: tuple[object, object, object, object]) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(*fields)  # type: ignore[arg-type]


def test_large_sizes() -> None:
    cp = Checkpoint(ORIGIN, MAX_TREE_SIZE, ROOT)
    assert Checkpoint.parse(cp.to_text()) == cp


# --- signing and verification ---------------------------------------------------------------------


def test_sign_and_verify(log_keys: tuple[str, str]) -> None:
    skey, vkey = log_keys
    cp = Checkpoint(ORIGIN, 1234, ROOT)
    signed = sign_checkpoint(cp, skey)
    assert signed.startswith(cp.to_text().encode() + b"\n\xe2\x80\x94 sealbid.example/log ")
    assert verify_checkpoint(signed, vkey, ORIGIN) == CheckpointVerdict(True, cp, ())
    assert sign_checkpoint(cp, parse_signer_key(skey)) == signed  # Ed25519 is deterministic


def test_wrong_origin(log_keys: tuple[str, str]) -> None:
    skey, vkey = log_keys
    signed = sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), skey)
    verdict = verify_checkpoint(signed, vkey, ORIGIN)
    assert not verdict.ok
    assert verdict.checkpoint is None
    assert "origin" in verdict.reasons[0]


def test_unknown_key(log_keys: tuple[str, str]) -> None:
    skey, _ = log_keys
    _, other_vkey = generate_signer(ORIGIN)  # same name, different key: unknown key ID
    verdict = verify_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), skey), other_vkey, ORIGIN)
    assert verdict == CheckpointVerdict(False, None, ("no signature by a known key",))


def test_tampered_checkpoint(log_keys: tuple[str, str]) -> None:
    skey, vkey = log_keys
    signed = sign_checkpoint(Checkpoint(ORIGIN, 10, ROOT), skey)
    tampered = signed.replace(b"\n10\n", b"\n11\n", 1)
    verdict = verify_checkpoint(tampered, vkey, ORIGIN)
    assert not verdict.ok
    assert "invalid signature" in verdict.reasons[0]


def test_witness_cosignature_is_ignored(log_keys: tuple[str, str]) -> None:
    skey, vkey = log_keys
    cp = Checkpoint(ORIGIN, 7, ROOT)
    witness = NoteSigner("witness.example/w1", Ed25519PrivateKey.generate())
    cosigned = cosign_note(sign_checkpoint(cp, skey), witness)
    assert verify_checkpoint(cosigned, vkey, ORIGIN) == CheckpointVerdict(True, cp, ())
    # only the witness signature: the log's key has not signed
    witness_only = sign_checkpoint(cp, witness)
    assert not verify_checkpoint(witness_only, vkey, ORIGIN).ok


def test_two_log_signatures_one_bad(log_keys: tuple[str, str]) -> None:
    skey, vkey = log_keys
    signed = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), skey)
    _, sig_line = signed.decode().rsplit("\n\n", 1)
    name_part, b64 = sig_line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 1
    bad_line = f"{name_part} {base64.b64encode(bytes(raw)).decode()}\n"
    doubled = signed + bad_line.encode()
    assert not verify_checkpoint(doubled, vkey, ORIGIN).ok


def test_signed_but_malformed_checkpoint_raises(log_keys: tuple[str, str]) -> None:
    skey, vkey = log_keys
    signed = sign_note(f"{ORIGIN}\n007\n{ROOT_B64}\n", parse_signer_key(skey))
    with pytest.raises(CheckpointError):
        verify_checkpoint(signed, vkey, ORIGIN)


def test_malformed_note_raises(log_keys: tuple[str, str]) -> None:
    _, vkey = log_keys
    for bad in [f"{ORIGIN}\n1\n{ROOT_B64}\n".encode(), b"\xff\n\n\xe2\x80\x94 a AAAAAAAA\n"]:
        with pytest.raises(NoteError):
            verify_checkpoint(bad, vkey, ORIGIN)
    with pytest.raises(NoteError):
        verify_checkpoint(sumdb_note(*SUMDB_CHECKPOINTS[0]), "not a key", SUMDB_ORIGIN)


# --- properties -----------------------------------------------------------------------------------

LINE = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(
    origin=LINE,
    size=st.integers(0, MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(LINE, max_size=3).map(tuple),
)
def test_text_round_trip(origin: str, size: int, root: bytes, extensions: tuple[str, ...]) -> None:
    cp = Checkpoint(origin, size, root, extensions)
    assert Checkpoint.parse(cp.to_text()) == cp
