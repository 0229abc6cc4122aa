"""Shamir k-of-n over the P-256 group order: reconstruction, secrecy, validation, commitments."""

from __future__ import annotations

import hashlib
import itertools
import random
from collections import Counter

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.shamir import (
    COMMITMENT_TAG,
    P256_ORDER,
    ShamirError,
    Share,
    ShareMismatchError,
    _shares_from,
    combine_and_check,
    combine_shares,
    commit_share,
    new_salt,
    split_secret,
    verify_share,
)

SMALL_PRIMES = [5, 7, 11, 13]

secrets_st = st.integers(min_value=1, max_value=P256_ORDER - 1)


@st.composite
def k_of_n(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(min_value=2, max_value=12))
    k = draw(st.integers(min_value=2, max_value=n))
    return k, n


@settings(max_examples=60, deadline=None)
@given(secret=secrets_st, kn=k_of_n(), data=st.data())
def test_any_k_shares_rebuild_the_secret(secret: int, kn: tuple[int, int], data: st.DataObject) -> None:
    k, n = kn
    shares = split_secret(secret, n, k)
    assert [s.index for s in shares] == list(range(1, n + 1))
    subset = data.draw(st.permutations(shares).map(lambda p: p[:k]))
    assert combine_shares(subset, threshold=k) == secret
    more = data.draw(st.integers(min_value=k, max_value=n))
    assert combine_shares(shares[:more]) == secret


@settings(max_examples=40, deadline=None)
@given(secret=secrets_st, kn=k_of_n(), candidate=secrets_st)
def test_k_minus_1_shares_fit_every_candidate_secret(
    secret: int, kn: tuple[int, int], candidate: int
) -> None:
    """For any k-1 shares and any candidate secret there is a polynomial of degree <= k-1 that the
    split could have chosen: constant term = candidate, and it reproduces every one of the shares."""
    k, n = kn
    shares = split_secret(secret, n, k)[: k - 1]
    coefficients = _interpolate([Share(0, candidate), *shares])
    assert len(coefficients) == k
    assert coefficients[0] == candidate
    assert _shares_from(coefficients, n, P256_ORDER)[: k - 1] == shares


def _interpolate(points: list[Share], p: int = P256_ORDER) -> list[int]:
    """Coefficients (lowest first) of the unique polynomial of degree < len(points) through them."""
    result = [0] * len(points)
    for i, pi in enumerate(points):
        basis = [1]  # prod_{j != i} (x - x_j), built up coefficient by coefficient
        denominator = 1
        for j, pj in enumerate(points):
            if i != j:
                basis = [(a - pj.index * b) % p for a, b in zip([0, *basis], [*basis, 0], strict=True)]
                denominator = denominator * (pi.index - pj.index) % p
        scale = pi.value * pow(denominator, -1, p) % p
        result = [(r + scale * b) % p for r, b in zip(result, basis, strict=True)]
    return result


@pytest.mark.parametrize("p", SMALL_PRIMES)
@pytest.mark.parametrize("k", [2, 3])
def test_k_minus_1_shares_are_exactly_uniform_small_field(p: int, k: int) -> None:
    """Exhaustively: over all polynomials, every k-1 share tuple occurs equally often for every secret."""
    n = min(p - 1, 4)
    baseline: Counter[tuple[int, ...]] | None = None
    for secret in range(1, p):
        counts: Counter[tuple[int, ...]] = Counter()
        for coefficients in itertools.product(range(p), repeat=k - 1):
            shares = _shares_from([secret, *coefficients], n, p)
            counts[tuple(s.value for s in shares[: k - 1])] += 1
        assert len(counts) == p ** (k - 1)  # every tuple is reached ...
        assert set(counts.values()) == {1}  # ... exactly once: uniform
        baseline = baseline or counts
        assert counts == baseline  # the distribution does not depend on the secret


@pytest.mark.parametrize("p", [7, 11])
def test_split_samples_look_uniform_small_field(p: int) -> None:
    """Statistical check of the real split (secrets module): one share of a 2-of-n is ~uniform."""
    trials = 3000
    counts = Counter(split_secret(1, 3, 2, modulus=p)[0].value for _ in range(trials))
    expected = trials / p
    chi2 = sum((counts[v] - expected) ** 2 / expected for v in range(p))
    assert set(counts) == set(range(p))
    assert chi2 < 40  # p-1 <= 10 degrees of freedom; 40 is far in the tail


@pytest.mark.parametrize("p", SMALL_PRIMES)
def test_small_field_roundtrip(p: int) -> None:
    for secret in range(1, p):
        shares = split_secret(secret, p - 1, 2, modulus=p)
        for pair in itertools.combinations(shares, 2):
            assert combine_shares(pair, modulus=p) == secret


def test_bytes_secret_and_share_encoding() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    shares = split_secret(scalar, 5, 3)
    encoded = [s.to_bytes() for s in shares]
    assert all(len(e) == 33 for e in encoded)
    decoded = [Share.from_bytes(e) for e in encoded]
    assert decoded == shares
    assert combine_and_check(
        decoded[1:4], key.public_key()
    ).private_numbers().private_value == int.from_bytes(scalar, "big")


@pytest.mark.parametrize(
    ("secret", "n", "k"),
    [(0, 3, 2), (P256_ORDER, 3, 2), (1, 3, 1), (1, 2, 3), (1, 256, 2), (b"\x01" * 31, 3, 2), (-5, 3, 2)],
)
def test_split_rejects_bad_parameters(secret: int | bytes, n: int, k: int) -> None:
    with pytest.raises(ShamirError):
        split_secret(secret, n, k)


def test_split_rejects_n_not_below_small_modulus() -> None:
    with pytest.raises(ShamirError):
        split_secret(1, 7, 2, modulus=7)
    with pytest.raises(ShamirError):
        split_secret(1, 3, 2, modulus=2)


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([Share(1, 5)], "at least"),
        ([Share(1, 5), Share(1, 6)], "duplicate"),
        ([Share(0, 5), Share(1, 6)], "index 0"),
        ([Share(1, 5), Share(256, 6)], "outside"),
        ([Share(1, P256_ORDER), Share(2, 6)], "value outside"),
        ([Share(1, -1), Share(2, 6)], "value outside"),
    ],
)
def test_combine_validates(shares: list[Share], message: str) -> None:
    with pytest.raises(ShamirError, match=message):
        combine_shares(shares)


def test_combine_enforces_threshold() -> None:
    shares = split_secret(42, 5, 3)
    with pytest.raises(ShamirError, match="at least 3"):
        combine_shares(shares[:2], threshold=3)


def test_share_from_bytes_validates() -> None:
    with pytest.raises(ShamirError):
        Share.from_bytes(b"\x01" * 32)
    with pytest.raises(ShamirError):
        Share.from_bytes(b"\x00" + b"\x01" * 32)
    with pytest.raises(ShamirError):
        Share.from_bytes(b"\x01" + P256_ORDER.to_bytes(32, "big"))


def test_commitment_exact_bytes() -> None:
    share = Share(3, 0x1234)
    salt = bytes(range(32))
    lp = lambda b: len(b).to_bytes(4, "big") + b  # noqa: E731
    expected = hashlib.sha256(
        lp(COMMITMENT_TAG) + lp(b"T-2024-001") + lp(b"\x03") + lp((0x1234).to_bytes(32, "big")) + lp(salt)
    ).digest()
    assert commit_share("T-2024-001", share, salt) == expected
    assert COMMITMENT_TAG == b"sealbid.share-commitment.v1"


@settings(max_examples=30, deadline=None)
@given(
    secret=secrets_st, kn=k_of_n(), tweak=st.integers(min_value=1, max_value=P256_ORDER - 1), data=st.data()
)
def test_wrong_share_is_identified_by_its_commitment(
    secret: int, kn: tuple[int, int], tweak: int, data: st.DataObject
) -> None:
    k, n = kn
    shares = split_secret(secret, n, k)
    salts = [new_salt() for _ in shares]
    commitments = [commit_share("tender-1", s, salt) for s, salt in zip(shares, salts, strict=True)]
    assert all(
        verify_share(c, "tender-1", s, salt) for c, s, salt in zip(commitments, shares, salts, strict=True)
    )
    bad = data.draw(st.integers(min_value=0, max_value=n - 1))
    corrupted = Share(shares[bad].index, (shares[bad].value + tweak) % P256_ORDER)
    assert not verify_share(commitments[bad], "tender-1", corrupted, salts[bad])
    assert not verify_share(commitments[bad], "tender-2", shares[bad], salts[bad])
    assert not verify_share(commitments[bad], "tender-1", shares[bad], new_salt())
    other = (bad + 1) % n
    assert not verify_share(commitments[other], "tender-1", shares[bad], salts[bad])


def test_verify_share_rejects_malformed_inputs_quietly() -> None:
    share = Share(1, 7)
    commitment = commit_share("t", share, bytes(32))
    assert not verify_share(commitment, "t", share, b"short")
    assert not verify_share(commitment, "", share, bytes(32))
    assert not verify_share(commitment, "t", Share(0, 7), bytes(32))


@settings(max_examples=15, deadline=None)
@given(kn=k_of_n(), tweak=st.integers(min_value=1, max_value=P256_ORDER - 1), data=st.data())
def test_corrupted_share_fails_the_public_key_check(
    kn: tuple[int, int], tweak: int, data: st.DataObject
) -> None:
    k, n = kn
    key = ec.generate_private_key(ec.SECP256R1())
    shares = split_secret(key.private_numbers().private_value, n, k)
    chosen = data.draw(st.permutations(shares).map(lambda p: list(p[:k])))
    assert combine_and_check(chosen, key.public_key()).public_key() == key.public_key()
    bad = data.draw(st.integers(min_value=0, max_value=k - 1))
    chosen[bad] = Share(chosen[bad].index, (chosen[bad].value + tweak) % P256_ORDER)
    with pytest.raises(ShareMismatchError):
        combine_and_check(chosen, key.public_key())


def test_combine_and_check_rejects_other_curves() -> None:
    with pytest.raises(ShamirError):
        combine_and_check(split_secret(5, 3, 2), ec.generate_private_key(ec.SECP384R1()).public_key())


def test_shares_of_the_same_secret_differ_between_splits() -> None:
    rnd = random.Random(0).randrange(1, P256_ORDER)
    assert split_secret(rnd, 3, 2) != split_secret(rnd, 3, 2)
