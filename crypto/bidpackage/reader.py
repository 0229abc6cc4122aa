"""Reading a bid package safely: the opener and the monitors run this on untrusted bytes.

:func:`verify_package` checks, before decompressing anything, the archive and central-directory
sizes, the entry count, every declared size against :class:`PackageLimits` (per entry, total, and
the compression ratio, so a zip bomb is refused from its directory), overlapping entries (the
"overlapped zip bomb"), data in front of the archive, encryption and compression methods, and every
name; then it reads ``manifest.json`` (size-capped, strict canonical JSON) and streams each listed
file through SHA-256 (never more than one chunk in memory; decompression never produces more than
the declared size). It returns the :class:`Manifest` or raises :class:`PackageError`, nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Final

from crypto.bidpackage.errors import PackageError
from crypto.bidpackage.manifest import MANIFEST_NAME, Manifest, parse_manifest
from crypto.bidpackage.names import check_name

if TYPE_CHECKING:
    from crypto.bidpackage.entry_stream import StreamedEntry

__all__ = ["FILES_PREFIX", "PackageLimits", "verify_package"]

FILES_PREFIX: Final = "files/"
_ZIP_ERRORS: Final = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    ValueError,
    OSError,
    EOFError,
    struct.error,
    zlib.error,
    KeyError,
    IndexError,
    OverflowError,
    UnicodeError,
    RuntimeError,
    TypeError,
)
_LOCAL_HEADER: Final = 30
_FLAG_ENCRYPTED: Final = 0x1
_FLAG_UTF8: Final = 0x800
_METHODS: Final = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


@dataclass(frozen=True, slots=True)
class PackageLimits:
    """Bounds for reading an untrusted package (sizes in bytes).

    ``max_ratio`` applies to entries larger than ``ratio_threshold`` uncompressed bytes.
    """

    max_archive_size: int = 8 << 30
    max_entries: int = 10_000
    max_entry_size: int = 4 << 30
    max_total_size: int = 8 << 30
    max_ratio: int = 200
    ratio_threshold: int = 1 << 20
    max_name_bytes: int = 255
    max_manifest_size: int = 4 << 20
    max_json_depth: int = 8
    max_central_directory: int = 16 << 20
    chunk_size: int = 1 << 20

    def __post_init__(self) -> None:
        if (
            min(
                self.max_archive_size,
                self.max_entries,
                self.max_entry_size,
                self.max_total_size,
                self.max_ratio,
                self.max_name_bytes,
                self.max_manifest_size,
                self.max_json_depth,
                self.max_central_directory,
                self.chunk_size,
            )
            < 1
        ):
            raise ValueError("package limits must be positive")


def _too_large(message: str) -> PackageError:
    return PackageError("package-too-large", message)


def _size_of(source: BinaryIO) -> int:
    try:
        start = source.tell()
        end = source.seek(0, 2)
        source.seek(start)
    except (OSError, ValueError) as exc:
        raise PackageError("package-not-zip", "the package must be read from a seekable file") from exc
    return end - start


def _check_end_record(source: BinaryIO, limits: PackageLimits) -> None:
    find: Callable[[IO[bytes]], Any] | None = getattr(zipfile, "_EndRecData", None)
    if find is None:  # pragma: no cover - every CPython has it; zipfile then reads what it reads
        return
    endrec = find(source)
    if not endrec:
        raise PackageError("package-not-zip", "not a ZIP archive (no end of central directory record)")
    if endrec[1] != 0 or endrec[2] != 0:
        raise PackageError("package-unsupported", "multi-volume ZIP archives are not accepted")
    if endrec[5] > limits.max_central_directory:
        raise _too_large(f"the ZIP central directory is larger than {limits.max_central_directory} bytes")
    if endrec[4] > limits.max_entries:
        raise _too_large(f"the ZIP declares {endrec[4]} entries; at most {limits.max_entries} are allowed")


def _check_entry(info: zipfile.ZipInfo, limits: PackageLimits) -> None:
    name = info.filename
    if info.flag_bits & _FLAG_ENCRYPTED:
        raise PackageError("package-unsupported", f"{name!r} is encrypted; packages are not encrypted")
    if info.compress_type not in _METHODS:
        raise PackageError(
            "package-unsupported",
            f"{name!r} uses compression method {info.compress_type}; use stored or deflated",
        )
    if not name.isascii() and not info.flag_bits & _FLAG_UTF8:
        raise PackageError("package-unsafe-name", f"{name!r} is not marked as a UTF-8 name")
    if info.file_size > limits.max_entry_size:
        raise _too_large(
            f"{name!r} declares {info.file_size} bytes; at most {limits.max_entry_size} per file"
        )
    if info.file_size > limits.ratio_threshold and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        raise _too_large(
            f"{name!r} expands {info.file_size} bytes from {info.compress_size}: more than "
            f"{limits.max_ratio}x (a zip bomb?)"
        )


def _check_layout(infos: list[zipfile.ZipInfo], central_directory: int) -> None:
    ordered = sorted(infos, key=lambda i: i.header_offset)
    if ordered and ordered[0].header_offset != 0:
        raise PackageError("package-not-zip", "the archive has data in front of its first entry")
    for current, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = (
            current.header_offset
            + _LOCAL_HEADER
            + len(current.filename.encode("utf-8", "surrogateescape"))
            + current.compress_size
        )
        limit = central_directory if following is None else following.header_offset
        if end > limit:
            raise PackageError("package-not-zip", f"the entry {current.filename!r} overlaps the next one")


def _entries(archive: zipfile.ZipFile, limits: PackageLimits) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise _too_large(f"the package has {len(infos)} entries; at most {limits.max_entries} are allowed")
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if len(info.filename.encode("utf-8", "surrogateescape")) > limits.max_name_bytes + len(FILES_PREFIX):
            raise _too_large(f"an entry name is longer than {limits.max_name_bytes} bytes")
        if info.filename in by_name:
            raise PackageError("package-unsafe-name", f"the archive holds {info.filename!r} twice")
        _check_entry(info, limits)
        total += info.file_size
        if total > limits.max_total_size:
            raise _too_large(f"the package expands to more than {limits.max_total_size} bytes")
        by_name[info.filename] = info
    _check_layout(infos, archive.start_dir)
    return by_name


def _read_manifest(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: PackageLimits) -> Manifest:
    if info.file_size > limits.max_manifest_size:
        raise _too_large(f"manifest.json is larger than {limits.max_manifest_size} bytes")
    with archive.open(info) as entry:
        raw = entry.read(limits.max_manifest_size + 1)
    return parse_manifest(raw, max_depth=limits.max_json_depth, max_files=limits.max_entries)


def _read_entry(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limits: PackageLimits,
    *,
    extract_to: Path | None,
    name: str,
    made: list[Path],
) -> tuple[int, str]:
    sink: BinaryIO | None = None
    if extract_to is not None:
        target = extract_to.joinpath(*check_name(name).split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        sink = target.open("xb")
        made.append(target)
    try:
        return _stream_entry(archive, info, limits, sink)
    finally:
        if sink is not None:
            sink.close()


def _stream_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: PackageLimits, sink: BinaryIO | None
) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with archive.open(info) as entry:
        while chunk := entry.read(limits.chunk_size):
            size += len(chunk)
            if size > info.file_size:  # pragma: no cover - zipfile stops at the declared size
                break
            digest.update(chunk)
            if sink is not None:
                sink.write(chunk)
    return size, digest.hexdigest()


def _vouched(streamed: Mapping[int, StreamedEntry] | None, info: zipfile.ZipInfo) -> tuple[int, str] | None:
    """Size and SHA-256 of an entry hashed while the package streamed, if its local header (as it
    passed) agrees with the central directory on everything zipfile would read it by, CRC included."""
    entry = streamed.get(info.header_offset) if streamed else None
    if entry is None:
        return None
    try:
        name = entry.name.decode("utf-8" if entry.flags & _FLAG_UTF8 else "cp437")
    except UnicodeDecodeError:
        return None
    local = (name, entry.flags, entry.method, entry.compress_size, entry.file_size, entry.crc)
    central = (info.orig_filename, info.flag_bits, info.compress_type, info.compress_size, info.file_size)
    if local != (*central, info.CRC) or (entry.size, entry.computed_crc) != (info.file_size, info.CRC):
        return None
    return entry.size, entry.sha256


def _verify(
    archive: zipfile.ZipFile,
    limits: PackageLimits,
    extract_to: Path | None,
    made: list[Path],
    streamed: Mapping[int, StreamedEntry] | None = None,
) -> Manifest:
    entries = _entries(archive, limits)
    manifest_info = entries.pop(MANIFEST_NAME, None)
    if manifest_info is None:
        raise PackageError("package-manifest-missing", "the package has no manifest.json")
    manifest = _read_manifest(archive, manifest_info, limits)
    for entry in manifest.files:
        info = entries.pop(FILES_PREFIX + entry.name, None)
        if info is None:
            raise PackageError(
                "package-file-missing", f"{entry.name!r} is listed in the manifest but missing"
            )
        if info.file_size != entry.size:
            raise PackageError(
                "package-file-mismatch",
                f"{entry.name!r} is {info.file_size} bytes, the manifest says {entry.size}",
            )
        vouched = _vouched(streamed, info) if extract_to is None else None
        if vouched is not None:
            size, sha256 = vouched
        else:
            size, sha256 = _read_entry(
                archive, info, limits, extract_to=extract_to, name=entry.name, made=made
            )
        if size != entry.size or sha256 != entry.sha256:
            raise PackageError(
                "package-file-mismatch", f"{entry.name!r} does not match its SHA-256 in the manifest"
            )
    if entries:
        extra = sorted(entries)[:5]
        raise PackageError(
            "package-file-extra", f"the package holds files the manifest does not list: {extra}"
        )
    return manifest


def verify_package(
    source: BinaryIO | Path,
    *,
    limits: PackageLimits | None = None,
    extract_to: Path | None = None,
    streamed: Mapping[int, StreamedEntry] | None = None,
) -> Manifest:
    """Check a bid package completely and return its manifest; :class:`PackageError` otherwise.

    ``source`` must be seekable (a file or ``BytesIO``). With ``extract_to`` (an existing directory)
    the files are also written there under their checked names while being hashed; on failure
    everything written is removed again. ``streamed`` holds the entries hashed while the package
    was written (:class:`~crypto.bidpackage.entry_stream.StreamedPackage`): an entry found there,
    consistent with the central directory, is not read again.
    """
    limits = limits or PackageLimits()
    made: list[Path] = []
    try:
        with contextlib.ExitStack() as stack:
            stream = stack.enter_context(source.open("rb")) if isinstance(source, Path) else source
            if _size_of(stream) > limits.max_archive_size:
                raise _too_large(f"the package is larger than {limits.max_archive_size} bytes")
            _check_end_record(stream, limits)
            archive = stack.enter_context(zipfile.ZipFile(stream, "r"))
            return _verify(archive, limits, extract_to, made, streamed)
    except PackageError:
        _remove(made)
        raise
    except MemoryError:
        _remove(made)
        raise _too_large("the package needs more memory than allowed to read") from None
    except _ZIP_ERRORS as exc:
        _remove(made)
        if isinstance(exc, FileExistsError | PermissionError) and extract_to is not None:
            raise PackageError("package-input-invalid", f"cannot extract: {exc}") from None
        message = str(exc)[:160] or type(exc).__name__
        code = "package-file-mismatch" if "CRC" in message else "package-not-zip"
        raise PackageError(code, f"the package is not a readable ZIP archive: {message}") from None


def _remove(paths: list[Path]) -> None:
    for path in reversed(paths):
        with contextlib.suppress(OSError):
            path.unlink()
