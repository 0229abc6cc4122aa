"""Building a bid package, streaming: each file is read once, in chunks, hashed while it is written.

Layout (deterministic for the same inputs and the same kind of sink): the bidder's files as
``files/<name>`` sorted by name, then ``manifest.json``; every entry carries the manifest's creation
time (DOS time, UTC), Unix permissions 0644 and the UTF-8 name flag when the name is not ASCII.
Entries are deflated (level 6) or stored, as asked. A seekable sink gets sizes in the local headers;
a pipe gets data descriptors. ZIP64 records are used where sizes need them.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Final, Literal

from crypto.bidpackage.errors import PackageError
from crypto.bidpackage.manifest import MANIFEST_NAME, ClientInfo, FileEntry, Manifest
from crypto.bidpackage.names import check_names
from crypto.bidpackage.prices import PriceForm
from crypto.bidpackage.reader import FILES_PREFIX

__all__ = ["PackageFile", "build_package"]

_COMPRESSION: Final = {"deflated": zipfile.ZIP_DEFLATED, "stored": zipfile.ZIP_STORED}
_MODE: Final = 0o100644 << 16
_PLACEHOLDER: Final = "0" * 64


@dataclass(frozen=True)
class PackageFile:
    """A file to put into the package: its name in the package and where it is on disk."""

    name: str
    path: Path


def _zip_info(name: str, created_at: datetime, compression: int, size: int) -> zipfile.ZipInfo:
    moment = created_at.astimezone(UTC)
    info = zipfile.ZipInfo(
        name, date_time=(moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    )
    info.compress_type = compression
    info.create_system = 3
    info.external_attr = _MODE
    info.file_size = size
    return info


def _copy(source: Path, expected: int, sink: BinaryIO, chunk_size: int) -> str:
    digest = hashlib.sha256()
    copied = 0
    with source.open("rb") as f:
        while chunk := f.read(chunk_size):
            copied += len(chunk)
            digest.update(chunk)
            sink.write(chunk)
    if copied != expected:
        raise PackageError("package-input-invalid", f"{source} changed while it was being packed")
    return digest.hexdigest()


def _stat_size(item: PackageFile) -> int:
    try:
        status = item.path.stat()
    except OSError as exc:
        raise PackageError("package-input-invalid", f"cannot read {item.path}: {exc.strerror}") from None
    if not item.path.is_file():
        raise PackageError("package-input-invalid", f"{item.path} is not a regular file")
    if not os.access(item.path, os.R_OK):
        raise PackageError("package-input-invalid", f"cannot read {item.path}: permission denied")
    return status.st_size


def build_package(
    sink: BinaryIO,
    files: Sequence[PackageFile],
    *,
    tender_id: str,
    lot_ids: Sequence[str],
    bidder_uscc: str,
    prices: Sequence[PriceForm],
    machine_code: str,
    client: ClientInfo,
    created_at: datetime,
    compression: Literal["deflated", "stored"] = "deflated",
    chunk_size: int = 1 << 20,
) -> Manifest:
    """Write the bid package to ``sink`` and return its manifest.

    Everything that can be checked before writing is checked first (names, tender, lots, USCC,
    prices, machine code: :class:`PackageError`), so a mistake does not cost a pass over the files.
    ``created_at`` is truncated to whole seconds (UTC).
    """
    if not files:
        raise PackageError("package-input-invalid", "a bid package needs at least one file")
    if created_at.tzinfo is None:
        raise PackageError("package-input-invalid", "created_at must be timezone-aware")
    created_at = created_at.astimezone(UTC).replace(microsecond=0)
    if created_at.year < 1980:
        raise PackageError("package-input-invalid", "created_at must be after 1980 (ZIP time stamps)")
    ordered = sorted(files, key=lambda f: f.name)
    check_names(f.name for f in ordered)
    sizes = [_stat_size(f) for f in ordered]
    draft = Manifest(
        tender_id=tender_id,
        lot_ids=tuple(lot_ids),
        bidder_uscc=bidder_uscc,
        prices=tuple(prices),
        files=tuple(FileEntry(f.name, size, _PLACEHOLDER) for f, size in zip(ordered, sizes, strict=True)),
        created_at=created_at,
        client=client,
        machine_code=machine_code,
    ).validate()
    method = _COMPRESSION[compression]
    entries = []
    with zipfile.ZipFile(
        sink, "w", compression=method, compresslevel=6 if method == zipfile.ZIP_DEFLATED else None
    ) as archive:
        for item, size in zip(ordered, sizes, strict=True):
            info = _zip_info(FILES_PREFIX + item.name, created_at, method, size)
            with archive.open(info, "w", force_zip64=size > (1 << 31)) as entry:
                sha256 = _copy(item.path, size, entry, chunk_size)  # type: ignore[arg-type]
            entries.append(FileEntry(item.name, size, sha256))
        manifest = replace(draft, files=tuple(entries))
        raw = manifest.canonical_bytes()
        archive.writestr(_zip_info(MANIFEST_NAME, created_at, method, len(raw)), raw)
    return manifest
