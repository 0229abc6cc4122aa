"""Benchmark sealing and opening a large bid against raw AES-256-GCM over the same bytes.

Run with ``uv run python -m bench.bench_envelope [--size-mib 1024] [--chunk-kib 1024] [--repeat 3]``.

A temporary source file of the given size is sealed (CMS AuthEnvelopedData, ECDH P-256 recipient) and
a temporary envelope file is opened; outputs go to /dev/null (``--sink file``: to a temporary file,
which adds disk noise to both sides). The baseline does the same reads and writes with the same chunk
size, but only AES-256-GCM (``cryptography``'s streaming ``Cipher(AES, GCM)``): the ratio shows what
the CMS layer costs (target >= 0.8). Memory is measured
in a forked child per operation: the peak of Python allocations (tracemalloc) and the growth of the
resident set (ru_maxrss) above the child's baseline (target < 64 MiB). No assertions: this only
reports. Best of ``--repeat`` interleaved runs, after a warm-up run (so the page cache is warm).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

from crypto.cms import Limits, open_envelope, seal

MIB = 1 << 20
RAW_KEY, RAW_NONCE = os.urandom(32), os.urandom(12)  # fixed: forked children rewrite the same file


def recipient() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A throwaway self-signed P-256 opening certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench opening certificate")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert, key


def write_source(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as f:
        for _ in range(size // MIB):
            f.write(block)
        f.write(block[: size % MIB])


def raw_encrypt(src: Path, dst: Path, chunk: int) -> None:
    encryptor = Cipher(algorithms.AES(RAW_KEY), modes.GCM(RAW_NONCE)).encryptor()
    with src.open("rb") as s, dst.open("wb") as d:
        while data := s.read(chunk):
            d.write(encryptor.update(data))
        encryptor.finalize()
        d.write(encryptor.tag)


def raw_decrypt(src: Path, dst: Path, chunk: int) -> None:
    size = src.stat().st_size - 16
    with src.open("rb") as s:
        s.seek(size)
        tag = s.read(16)
        s.seek(0)
        decryptor = Cipher(algorithms.AES(RAW_KEY), modes.GCM(RAW_NONCE)).decryptor()
        with dst.open("wb") as d:
            remaining = size
            while remaining:
                data = s.read(min(chunk, remaining))
                remaining -= len(data)
                d.write(decryptor.update(data))
            d.write(decryptor.finalize_with_tag(tag))


def _child(action: Callable[[], object], queue: mp.Queue) -> None:  # type: ignore[type-arg]
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    action()  # RSS growth without tracemalloc's bookkeeping
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    queue.put((rss * 1024, peak))


def memory(action: Callable[[], object]) -> tuple[int, int]:
    """(RSS growth, tracemalloc peak) in bytes, measured in a forked child."""
    ctx = mp.get_context("fork")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    process = ctx.Process(target=_child, args=(action, queue))
    process.start()
    result: tuple[int, int] = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--chunk-kib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sink",
        choices=("null", "file"),
        default="null",
        help="write outputs to /dev/null (default) or a file",
    )
    args = parser.parse_args()
    size, chunk = args.size_mib * MIB, args.chunk_kib * 1024
    cert, key = recipient()
    limits = Limits(chunk_size=chunk)
    with tempfile.TemporaryDirectory(prefix="sealbid-bench-") as tmp:
        d = Path(tmp)
        src, raw, env, out = d / "bid.zip", d / "raw.bin", d / "bid.p7m", d / "opened.zip"
        write_source(src, size)

        raw_encrypt(src, raw, chunk)  # the inputs of the two decryptions
        with src.open("rb") as s, env.open("wb") as e:
            seal(s, e, [cert], chunk_size=chunk)
        sink = Path(os.devnull) if args.sink == "null" else out

        def do_seal() -> None:
            with src.open("rb") as s, sink.open("wb") as e:
                seal(s, e, [cert], chunk_size=chunk)

        def do_open() -> None:
            with env.open("rb") as e, sink.open("wb") as o:
                open_envelope(e, o, cert, key, limits=limits)

        operations = {
            "raw AES-256-GCM encrypt": lambda: raw_encrypt(src, sink, chunk),
            "seal (AuthEnvelopedData)": do_seal,
            "raw AES-256-GCM decrypt": lambda: raw_decrypt(raw, sink, chunk),
            "open (AuthEnvelopedData)": do_open,
        }
        print(f"{args.size_mib} MiB, chunk {args.chunk_kib} KiB, best of {args.repeat}, sink: {args.sink}")
        print(f"{'operation':<28} {'MiB/s':>9} {'RSS +MiB':>9} {'py peak MiB':>12}")
        for action in operations.values():
            action()  # warm the page cache and the code paths
        best = dict.fromkeys(operations, float("inf"))
        for _ in range(args.repeat):  # interleaved, so drift on a shared machine hits both sides
            for name, action in operations.items():
                start = time.perf_counter()
                action()
                best[name] = min(best[name], time.perf_counter() - start)
        speeds = {name: args.size_mib / seconds for name, seconds in best.items()}
        for name, action in operations.items():
            rss, peak = memory(action)
            print(f"{name:<28} {speeds[name]:>9.0f} {rss / MIB:>9.1f} {peak / MIB:>12.1f}")
        seal_ratio = speeds["seal (AuthEnvelopedData)"] / speeds["raw AES-256-GCM encrypt"]
        open_ratio = speeds["open (AuthEnvelopedData)"] / speeds["raw AES-256-GCM decrypt"]
        print(
            f"seal / raw encrypt: {seal_ratio:.2f}x   open / raw decrypt: {open_ratio:.2f}x   (target >= 0.8x)"
        )
        print(f"envelope overhead: {env.stat().st_size - size} bytes")


if __name__ == "__main__":
    main()
