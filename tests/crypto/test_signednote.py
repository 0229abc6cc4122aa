"""C2SP signed notes: Go sumdb/note vectors, key texts, every failure path, round-trip properties."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.signednote import (
    MAX_SIGNATURES,
    NoteError,
    NoteSignature,
    NoteSigner,
    NoteVerdict,
    NoteVerifier,
    check_key_name,
    cosign_note,
    generate_signer,
    key_id,
    open_note,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
    verifier_key_text,
)

# Fixed vectors of golang.org/x/mod/sumdb/note (note_test.go, package documentation).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def note(*sig_lines: str, text: str = TEXT) -> bytes:
    return (text + "\n" + "".join(sig_lines)).encode()


@pytest.fixture(scope="module")
def peter() -> NoteVerifier:
    return parse_verifier_key(PETER_VKEY)


@pytest.fixture(scope="module")
def enoch() -> NoteVerifier:
    return parse_verifier_key(ENOCH_VKEY)


# --- keys -----------------------------------------------------------------------------------------


def test_go_keys_parse_and_round_trip(peter: NoteVerifier) -> None:
    assert (peter.name, peter.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert peter.to_text() == PETER_VKEY
    signer = parse_signer_key(PETER_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == 0xC74F20A3
    assert signer.to_text() == PETER_SKEY
    assert signer.verifier() == peter
    assert key_id("PeterNeumann", peter.public_key) == 0xC74F20A3
    assert verifier_key_text("PeterNeumann", peter.public_key) == PETER_VKEY


def test_signer_repr_hides_the_key() -> None:
    signer = parse_signer_key(PETER_SKEY)
    assert "AYEKFALV" not in repr(signer)
    assert repr(signer) == "NoteSigner(name='PeterNeumann')"


@pytest.mark.parametrize(("key", "parse"), [(PETER_VKEY, parse_verifier_key), (PETER_SKEY, parse_signer_key)])
def test_mangled_keys_rejected(key: str, parse: object) -> None:
    """As Go's TestNewVerifier/TestNewSigner: every proper substring and every one-byte change fails."""
    assert callable(parse)
    for i in range(len(key) + 1):
        for j in range(i + 1, len(key) + 1):
            if (i, j) != (0, len(key)):
                with pytest.raises(NoteError):
                    parse(key[i:j])
    for i in range(len(key)):
        with pytest.raises(NoteError):
            parse(key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :])


@pytest.mark.parametrize(
    "bad",
    [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # key too long
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper-case key ID
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",  # trailing newline
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key hash
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T=",  # bad base64
    ],
)
def test_bad_verifier_keys(bad: str) -> None:
    with pytest.raises(NoteError):
        parse_verifier_key(bad)


def test_bad_signer_keys() -> None:
    for bad in [
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # wrong hash
        "PRIVATE+KEX+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        PETER_VKEY,
    ]:
        with pytest.raises(NoteError):
            parse_signer_key(bad)


def test_generate_signer() -> None:
    skey, vkey = generate_signer("sealbid.example/log")
    signer, verifier = parse_signer_key(skey), parse_verifier_key(vkey)
    assert signer.verifier() == verifier
    assert skey.startswith("PRIVATE+KEY+sealbid.example/log+")
    assert vkey.startswith(f"sealbid.example/log+{verifier.key_id:08x}+")
    assert open_note(sign_note("hello\n", signer), [verifier]).ok
    other_skey, _ = generate_signer("sealbid.example/log")
    assert other_skey != skey


@pytest.mark.parametrize(
    "name", ["", "a+b", "a b", "a\tb", "a\u00a0b", "a\u3000b", "a\u2028b", "a\x01b", "+"]
)
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(NoteError):
        check_key_name(name)
    with pytest.raises(NoteError):
        generate_signer(name)


def test_valid_key_names() -> None:
    for name in ["sealbid.example/log", "PeterNeumann", "招标/日志", "a-b_c:d"]:
        check_key_name(name)


def test_verifier_object_checks() -> None:
    with pytest.raises(NoteError):
        key_id("name", b"\x00" * 31)
    good = parse_verifier_key(PETER_VKEY)
    with pytest.raises(NoteError):
        NoteVerifier(good.name, good.key_id ^ 1, good.public_key)
    with pytest.raises(NoteError):
        NoteVerifier("EnochRoot", good.key_id, good.public_key)
    assert not good.verify(b"x", b"\x00" * 10)


# --- signing --------------------------------------------------------------------------------------


def test_sign_matches_go_vector() -> None:
    assert sign_note(TEXT, parse_signer_key(PETER_SKEY)) == note(PETER_SIG)


def test_sign_with_two_signers_keeps_order() -> None:
    peter_signer = parse_signer_key(PETER_SKEY)
    other = NoteSigner("Other", Ed25519PrivateKey.generate())
    signed = sign_note(TEXT, [peter_signer, other])
    assert signed.startswith(note(PETER_SIG))
    verdict = open_note(signed, [other.verifier(), peter_signer.verifier()])
    assert verdict.signed_by == ("PeterNeumann", "Other")


@pytest.mark.parametrize("text", ["no newline", "", "tab\there\n", "cr\r\n", "nul\x00\n", "bad \ud800\n"])
def test_sign_rejects_bad_text(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, parse_signer_key(PETER_SKEY))


def test_sign_rejects_no_signers_and_bytes() -> None:
    with pytest.raises(NoteError):
        sign_note(TEXT, [])
    with pytest.raises(NoteError):
        sign_note(TEXT.encode(), parse_signer_key(PETER_SKEY))  # type: ignore[arg-type]


def test_texts_with_blank_lines_are_allowed() -> None:
    signer = parse_signer_key(PETER_SKEY)
    for text in ["\n", "a\n\nb\n", "a\n\n", "\n\n\n"]:
        verdict = open_note(sign_note(text, signer), [signer.verifier()])
        assert verdict.ok
        assert verdict.text == text


def test_cosign() -> None:
    peter_signer = parse_signer_key(PETER_SKEY)
    witness = NoteSigner("witness.example", Ed25519PrivateKey.generate())
    cosigned = cosign_note(note(PETER_SIG, ENOCH_SIG), witness)
    assert cosigned.startswith(note(PETER_SIG, ENOCH_SIG))
    verdict = open_note(cosigned, [PETER_VKEY, ENOCH_VKEY, witness.verifier()])
    assert verdict.signed_by == ("PeterNeumann", "EnochRoot", "witness.example")
    # re-signing by an existing key replaces its line instead of adding a second one
    bad_peter = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    assert cosign_note(note(bad_peter), peter_signer) == note(PETER_SIG)


# --- opening --------------------------------------------------------------------------------------


def test_open_one_verified_one_ignored(peter: NoteVerifier) -> None:
    verdict = open_note(note(PETER_SIG, ENOCH_SIG), [peter])
    assert verdict == NoteVerdict(True, TEXT, ("PeterNeumann",), ("EnochRoot+af0cfe78",), ())


def test_open_both_verified(peter: NoteVerifier, enoch: NoteVerifier) -> None:
    verdict = open_note(note(PETER_SIG, ENOCH_SIG), [peter, enoch])
    assert verdict.ok
    assert verdict.signed_by == ("PeterNeumann", "EnochRoot")
    assert verdict.ignored == ()


def test_open_accepts_key_texts() -> None:
    assert open_note(note(PETER_SIG), [PETER_VKEY]).ok


def test_open_no_known_key(enoch: NoteVerifier) -> None:
    for verifiers in ([], [enoch]):
        verdict = open_note(note(PETER_SIG), verifiers)
        assert not verdict.ok
        assert verdict.text == ""
        assert verdict.reasons == ("no signature by a known key",)


def test_open_invalid_signature(peter: NoteVerifier) -> None:
    verdict = open_note(note(PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]), [peter])
    assert not verdict.ok
    assert verdict.text == ""
    assert verdict.reasons == ("invalid signature by key PeterNeumann+c74f20a3",)


def test_open_one_good_one_bad_signature_by_same_key_rejected(peter: NoteVerifier) -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    assert not open_note(note(PETER_SIG, bad), [peter]).ok
    assert not open_note(note(bad, PETER_SIG), [peter]).ok


def test_open_duplicate_signatures(peter: NoteVerifier) -> None:
    verdict = open_note(note(PETER_SIG, PETER_SIG, ENOCH_SIG, ENOCH_SIG), [peter])
    assert verdict.ok
    assert verdict.signed_by == ("PeterNeumann",)
    assert verdict.ignored == ("EnochRoot+af0cfe78",)


def test_open_tampered_text(peter: NoteVerifier) -> None:
    tampered = note(PETER_SIG, text=TEXT.replace("answer", "answeR"))
    verdict = open_note(tampered, [peter])
    assert not verdict.ok
    assert "invalid signature" in verdict.reasons[0]
    # an extra line appended to the text is tampering too
    assert not open_note(note(PETER_SIG, text=TEXT + "more\n"), [peter]).ok


def test_open_wrong_key_hash_or_name_is_unknown(peter: NoteVerifier) -> None:
    wrong_hash = PETER_SIG.replace("x08g", "xxxx")
    wrong_name = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    for sig in (wrong_hash, wrong_name):
        verdict = open_note(note(sig), [peter])
        assert not verdict.ok
        assert verdict.ignored
        assert verdict.reasons == ("no signature by a known key",)


def test_open_known_key_with_wrong_signature_length(peter: NoteVerifier) -> None:
    short = NoteSignature("PeterNeumann", 0xC74F20A3, b"\x01" * 10).to_line()
    assert open_note(note(short), [peter]).reasons == ("invalid signature by key PeterNeumann+c74f20a3",)


def test_ambiguous_verifiers_rejected(peter: NoteVerifier) -> None:
    assert open_note(note(PETER_SIG), [peter, peter]).ok  # the same key twice is harmless
    clash = object.__new__(NoteVerifier)  # same name and ID, different key: bypass the ID check
    object.__setattr__(clash, "name", peter.name)
    object.__setattr__(clash, "key_id", peter.key_id)
    object.__setattr__(clash, "public_key", b"\x07" * 32)
    with pytest.raises(NoteError):
        open_note(note(PETER_SIG), [peter, clash])


def test_too_many_signatures(peter: NoteVerifier) -> None:
    assert open_note(note(*[PETER_SIG] * MAX_SIGNATURES), [peter]).ok
    for verifiers in ([peter], []):
        with pytest.raises(NoteError):
            open_note(note(*[PETER_SIG] * (MAX_SIGNATURES + 1)), verifiers)


NON_CANONICAL = PETER_SIG.replace("nAM=", "nAN=")  # same bytes, non-zero unused bits

MALFORMED = [
    TEXT.encode(),  # no signatures
    (TEXT + "\n").encode(),  # blank line but no signatures
    note(PETER_SIG)[:-1],  # missing final newline
    b"\x01" + note(PETER_SIG),  # control character
    b"\xff" + note(PETER_SIG),  # invalid UTF-8
    note(
        "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    ),
    note(PETER_SIG, "Unexpected line.\n"),
    note(PETER_SIG.replace("— ", "-- ")),  # not an em dash
    note(PETER_SIG.replace("— ", "—")),  # no space after the dash
    note("— PeterNeumann\n"),  # no signature
    note("— PeterNeumann \n"),  # empty signature
    note("— PeterNeumann AAAA\n"),  # shorter than key ID + 1 byte
    note(PETER_SIG.replace("x08go", "x08g!")),  # bad base64 character
    note(PETER_SIG.replace("nAM=", "nAM")),  # missing padding
    note(PETER_SIG.replace("nAM=", "nAM= ")),  # trailing space
    note(NON_CANONICAL),
    note(
        "— Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    ),
    note(PETER_SIG, "\n"),  # empty signature line
    note(PETER_SIG).replace(b"\n", b"\r\n"),  # CRLF line ends
    b"",
]


@pytest.mark.parametrize("msg", MALFORMED)
def test_malformed_notes(peter: NoteVerifier, msg: bytes) -> None:
    with pytest.raises(NoteError):
        open_note(msg, [peter])


def test_open_rejects_str() -> None:
    with pytest.raises(NoteError):
        open_note(note(PETER_SIG).decode(), [PETER_VKEY])  # type: ignore[arg-type]


def test_parse_note() -> None:
    parsed = parse_note(note(PETER_SIG, ENOCH_SIG))
    assert parsed.text == TEXT
    assert [(s.name, s.key_id, len(s.signature)) for s in parsed.signatures] == [
        ("PeterNeumann", 0xC74F20A3, 64),
        ("EnochRoot", 0xAF0CFE78, 64),
    ]
    assert "".join(s.to_line() for s in parsed.signatures) == PETER_SIG + ENOCH_SIG


# --- properties -----------------------------------------------------------------------------------

LINE_TEXT = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), max_size=40)
NOTE_TEXT = st.lists(LINE_TEXT, min_size=1, max_size=5).map(lambda lines: "\n".join(lines) + "\n")
NAMES = st.text(
    st.characters(
        min_codepoint=0x21, exclude_categories=["Cs", "Zs", "Zl", "Zp"], exclude_characters="+\x85"
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: not any(c.isspace() for c in s))
SIGNER = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@settings(max_examples=100, deadline=None)
@given(text=NOTE_TEXT, name=NAMES)
def test_sign_open_round_trip(text: str, name: str) -> None:
    signer = NoteSigner(name, SIGNER)
    assert parse_verifier_key(signer.verifier().to_text()) == signer.verifier()
    signed = sign_note(text, signer)
    assert open_note(signed, [signer.verifier()]) == NoteVerdict(True, text, (name,))
    assert parse_note(signed).text == text


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_byte_change_never_verifies_silently(data: st.DataObject) -> None:
    """Changing one byte of a signed note makes it malformed or rejected, never ok with other text."""
    signed = bytearray(note(PETER_SIG))
    i = data.draw(st.integers(0, len(signed) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != signed[i]))
    signed[i] = new
    try:
        verdict = open_note(bytes(signed), [PETER_VKEY])
    except NoteError:
        return
    assert not verdict.ok
