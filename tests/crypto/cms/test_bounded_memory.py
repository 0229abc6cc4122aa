"""Sealing, opening, signing and verifying a large file use memory bounded by the chunk size."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from crypto.cms import (
    Limits,
    Signer,
    open_envelope_to_path,
    peek_envelope,
    seal,
    sign_attached_to,
    sign_detached,
    verify_signed,
)
from tests.crypto.cms.testpki import Pki

SIZE = 32 << 20
CHUNK = 1 << 20
BUDGET = 6 << 20  # a few chunks; the file itself is 32 MiB


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "drawings.zip"
    with path.open("wb") as f:
        block = os.urandom(CHUNK)
        for _ in range(SIZE // CHUNK):
            f.write(block)
    return path


def peak_of(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_seal_and_open_a_large_file(pki: Pki, big_file: Path, tmp_path: Path) -> None:
    envelope, opened = tmp_path / "bid.p7m", tmp_path / "opened.zip"

    def do_seal() -> None:
        with big_file.open("rb") as src, envelope.open("wb") as dst:
            seal(src, dst, [pki.ec_recipient.cert], chunk_size=CHUNK)

    assert peak_of(do_seal) < BUDGET
    with envelope.open("rb") as f:
        assert peak_of(lambda: peek_envelope(f)) < 1 << 20
    limits = Limits(chunk_size=CHUNK)
    assert (
        peak_of(
            lambda: open_envelope_to_path(
                envelope, opened, pki.ec_recipient.cert, pki.ec_recipient.key, limits=limits
            )
        )
        < BUDGET
    )
    assert opened.stat().st_size == SIZE
    with big_file.open("rb") as a, opened.open("rb") as b:
        while chunk := a.read(CHUNK):
            assert chunk == b.read(CHUNK)


def test_sign_and_verify_a_large_file(pki: Pki, big_file: Path, tmp_path: Path) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    attached = tmp_path / "bid.p7s"
    signature: list[bytes] = []

    def do_sign() -> None:
        with big_file.open("rb") as src:
            signature.append(sign_detached(src, signer))
        with big_file.open("rb") as src, attached.open("wb") as dst:
            sign_attached_to(src, dst, signer)

    assert peak_of(do_sign) < BUDGET

    def do_verify() -> None:
        with big_file.open("rb") as content:
            assert verify_signed(signature[0], detached_content=content).ok
        with attached.open("rb") as f, (tmp_path / "extracted").open("wb") as sink:
            assert verify_signed(f, content_sink=sink).ok

    assert peak_of(do_verify) < BUDGET
    assert (tmp_path / "extracted").stat().st_size == SIZE
