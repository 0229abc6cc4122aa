"""Benchmark the opening: many sealed bids opened and checked, against raw AES-256-GCM + SHA-256.

Run with ``.venv/bin/python -m bench.bench_opening [--count 500] [--size-mib 10] [--distinct 4]``.

Setup (not timed): a development PKI, a P-256 opening key and certificate, and ``--distinct`` real bid
packages of ``--size-mib`` each (incompressible files, stored), signed by a tenderer's certificate and
sealed to the opening certificate; each envelope is put in a filesystem blob store. The ``--count``
envelopes opened cycle through these (the page cache holds them; both sides read the same bytes).

Timed, per envelope, what the opening does for each bid (:func:`tendering.opening.opener._open_one`
without its one database UPDATE): stream the envelope from the blob store into
:func:`crypto.bidpackage.open_bid` (SHA-256 of the envelope, AES-256-GCM decryption of the opening
layer, verification of the CMS signature and of every file hash of the package against its manifest),
keep the verified package in the blob store, summarise the price form. Baseline in the same run: read the
same envelope files, decrypt every byte with AES-256-GCM and hash every byte with SHA-256.
Target: opening ≤ 3× the baseline. Memory: the process's peak resident set (``ru_maxrss``; setup, which
holds one envelope in memory while sealing, sets a floor) and the peak of Python allocations while
opening five bids (tracemalloc, untimed). No assertions: this only reports.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

from crypto.bidpackage import (
    ClientInfo,
    PackageFile,
    PriceForm,
    build_package,
    certificate_uscc,
    open_bid,
    seal_bid,
)
from crypto.bidpackage.sealing import tender_uri
from crypto.cms import Signer
from crypto.pki import build_pki, dev_pki_spec
from tendering.blobs import FilesystemBlobStore
from tendering.opening.summaries import price_summary

MIB = 1 << 20
TENDER = "3f0e8c52-4b7a-4c11-9d7e-2a5b1c0d9e01"


def opening_certificate() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A P-256 opening key and certificate naming the bench tender."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench opening key")])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(False, False, False, False, True, False, False, False, False)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(usage, critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(tender_uri(TENDER))]), False
        )
        .sign(key, hashes.SHA256())
    )
    return certificate, key


Opening = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def make_envelopes(
    work: Path, blobs: FilesystemBlobStore, distinct: int, size: int, opening: Opening
) -> list[str]:
    """Seal ``distinct`` packages of about ``size`` bytes to ``opening``; their SHA-256 in the blob store."""
    pki = build_pki(dev_pki_spec("http://bench.invalid/pki", datetime.now(UTC)))
    credential = pki.signing("tenderer-1")
    signer = Signer(credential.certificate, credential.private_key, tuple(pki.chain(credential.name)))
    uscc = certificate_uscc(credential.certificate)
    assert uscc is not None
    certificate = opening[0]
    digests = []
    for index in range(distinct):
        files = []
        for part in range(2):
            path = work / f"src-{index}-{part}"
            path.write_bytes(os.urandom(size // 2))
            files.append(PackageFile(f"技术标/part-{part}.bin", path))
        package = work / f"package-{index}.zip"
        with package.open("wb") as sink:
            build_package(
                sink, files, tender_id=TENDER, lot_ids=["1"], bidder_uscc=uscc,
                prices=[PriceForm("1", Decimal("11800000.00"), "CNY", 365, "合格")],
                machine_code="ab" * 32, client=ClientInfo("bench", "1"), created_at=datetime.now(UTC),
                compression="stored",
            )  # fmt: skip
        envelope = io.BytesIO()
        seal_bid(package, envelope, signer, opening_certificate=certificate)
        envelope.seek(0)
        digests.append(blobs.put(envelope).sha256)
        for leftover in (*work.glob(f"src-{index}-*"), package):
            leftover.unlink()
    return digests


def open_all(blobs: FilesystemBlobStore, digests: list[str], count: int, work: Path, opening: Opening) -> int:
    """What the opening does per envelope (``opener._open_one`` without the UPDATE); how many opened."""
    certificate, key = opening
    scratch = work / "scratch"
    scratch.mkdir(exist_ok=True)
    opened = 0
    for number in range(count):
        destination, middle = scratch / f"{number}.zip", scratch / f"{number}.p7m"
        with blobs.open(digests[number % len(digests)]) as source:
            verdict = open_bid(
                source, certificate, key, check_certificate=None, expected_tender_id=TENDER,
                package_destination=destination, middle_destination=middle, workdir=scratch,
            )  # fmt: skip
        if verdict.ok and verdict.manifest is not None and verdict.package_sha256 is not None:
            blobs.adopt(destination, sha256=verdict.package_sha256)
            price_summary(verdict.manifest)
            opened += 1
        destination.unlink(missing_ok=True)
    return opened


def baseline(blobs: FilesystemBlobStore, digests: list[str], count: int) -> int:
    """Read the same envelopes, AES-256-GCM-decrypt and SHA-256 every byte."""
    key, nonce = os.urandom(32), os.urandom(12)
    total = 0
    for number in range(count):
        decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        digest = hashlib.sha256()
        with blobs.open(digests[number % len(digests)]) as source:
            while chunk := source.read(MIB):
                digest.update(chunk)
                decryptor.update(chunk)
                total += len(chunk)
        decryptor.finalize()
        digest.hexdigest()
    return total


def main() -> None:
    """Parse the options, set up, run both sides, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="envelopes to open (default 500)")
    parser.add_argument("--size-mib", type=int, default=10, help="size of each bid package (default 10)")
    parser.add_argument("--distinct", type=int, default=4, help="distinct envelopes cycled through")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sealbid-bench-opening-") as root:
        work = Path(root)
        blobs = FilesystemBlobStore(work / "blobs")
        opening = opening_certificate()
        digests = make_envelopes(work, blobs, args.distinct, args.size_mib * MIB, opening)
        baseline(blobs, digests, len(digests))  # warm the page cache
        rss_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        total = baseline(blobs, digests, args.count)
        raw_seconds = time.perf_counter() - started
        started = time.perf_counter()
        opened = open_all(blobs, digests, args.count, work, opening)
        open_seconds = time.perf_counter() - started
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        open_all(blobs, digests, min(args.count, 5), work, opening)
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    gib = total / (1 << 30)
    print(
        f"envelopes: {args.count} x {args.size_mib} MiB packages ({gib:.2f} GiB of envelopes), opened {opened}"
    )
    print(f"raw AES-256-GCM + SHA-256: {raw_seconds:.2f} s ({gib / raw_seconds:.2f} GiB/s)")
    print(f"opening (decrypt, verify signature and package, keep package): {open_seconds:.2f} s "
          f"({gib / open_seconds:.2f} GiB/s, {open_seconds / max(opened, 1) * 1000:.0f} ms per bid)")  # fmt: skip
    print(f"ratio opening/raw: {open_seconds / raw_seconds:.2f}x (target <= 3x)")
    print(f"peak resident set: {rss_peak / 1024:.1f} MiB (after setup {rss_setup / 1024:.1f} MiB; ru_maxrss)")
    print(f"peak Python allocations while opening (tracemalloc, 5 bids): {python_peak / MIB:.2f} MiB")


if __name__ == "__main__":
    main()
