"""Packing, sealing and opening a large bid keep Python allocations at a few chunks, not the bid size."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from crypto.bidpackage import PackageFile, build_package, open_bid, seal_bid, verify_package
from crypto.pki import BuiltPki
from tests.crypto.bidpackage.helpers import (
    CLIENT,
    MACHINE,
    NOW,
    TENDER,
    make_opening,
    price,
    signer_of,
    uscc_of,
)

SIZE = 48 << 20
BOUND = 12 << 20  # a few 1 MiB chunks plus bookkeeping; the bid itself is 48 MiB


def _peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "drawings.dwg"
    with path.open("wb") as f:
        for _ in range(SIZE >> 20):
            f.write(os.urandom(1 << 20))
    return path


def test_pack_seal_open_of_a_large_bid_in_bounded_memory(dev: BuiltPki, big: Path, tmp_path: Path) -> None:
    package, sealed = tmp_path / "bid.zip", tmp_path / "bid.sealed"
    opening = make_opening(tmp_path / "opening")

    def pack() -> None:
        with package.open("wb") as sink:
            build_package(
                sink,
                [PackageFile("图纸/drawings.dwg", big)],
                tender_id=TENDER,
                lot_ids=["1"],
                bidder_uscc=uscc_of(dev, "tenderer-1"),
                prices=[price("1")],
                machine_code=MACHINE,
                client=CLIENT,
                created_at=NOW,
                compression="stored",
            )

    def seal() -> None:
        with package.open("rb") as source, sealed.open("wb") as sink:
            seal_bid(source, sink, signer_of(dev, "tenderer-1"), opening_certificate=opening.certificate)

    def open_() -> None:
        verdict = open_bid(sealed, opening.certificate, opening.key, check_certificate=None)
        assert verdict.ok, verdict.reasons

    for step in (pack, seal, open_):
        assert _peak(step) < BOUND, step.__name__
    assert _peak(lambda: verify_package(package)) < BOUND
    assert package.stat().st_size > SIZE and sealed.stat().st_size > SIZE
