"""Building and verifying bid packages: the manifest, determinism, names, prices, tampering."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from crypto.bidpackage import (
    MANIFEST_TYPE,
    PackageError,
    PackageFile,
    build_package,
    parse_manifest,
    price_forms_from_input,
    verify_package,
)
from crypto.pki import BuiltPki
from crypto.uscc import is_valid_uscc
from tests.crypto.bidpackage.helpers import (
    CLIENT,
    MACHINE,
    NOW,
    TENDER,
    build_sample,
    price,
    rezip,
    sample_files,
    uscc_of,
)


@pytest.fixture(scope="module")
def uscc(dev: BuiltPki) -> str:
    return uscc_of(dev, "tenderer-1")


def _manifest_json(package: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        data: dict[str, Any] = json.loads(z.read("manifest.json"))
    return data


def test_package_round_trip_lists_every_file_with_size_and_sha256(tmp_path: Path, uscc: str) -> None:
    package, built = build_sample(tmp_path, uscc)
    manifest = verify_package(io.BytesIO(package))
    assert manifest == built
    assert is_valid_uscc(manifest.bidder_uscc) and manifest.tender_id == TENDER
    assert manifest.prices[0].total_price == Decimal("1234567.89")
    sources = {p.name: p.path.read_bytes() for p in sample_files(tmp_path / "again")}
    for entry in manifest.files:
        assert entry.size == len(sources[entry.name])
        assert entry.sha256 == hashlib.sha256(sources[entry.name]).hexdigest()
    raw = _manifest_json(package)
    assert raw["type"] == MANIFEST_TYPE
    assert raw["prices"] == [  # decimal strings, never floats
        {
            "lot_id": "1",
            "total_price": "1234567.89",
            "currency": "CNY",
            "duration_days": 180,
            "quality": "合格",
            "declared": {"项目经理": "张三"},
        }
    ]
    assert raw["created_at"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ") and raw["machine_code"] == MACHINE
    assert raw["client"] == {"name": "sealbid-bid", "version": "1.0"}


def test_manifest_is_rfc8785_and_entries_are_in_a_fixed_order(tmp_path: Path, uscc: str) -> None:
    package, _ = build_sample(tmp_path, uscc)
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        names = z.namelist()
        raw = z.read("manifest.json")
        infos = z.infolist()
    assert raw == rfc8785.dumps(json.loads(raw))
    assert names == [*sorted(n for n in names if n != "manifest.json"), "manifest.json"]
    assert all(n.startswith("files/") for n in names[:-1])
    dos_time = (*NOW.timetuple()[:5], NOW.second // 2 * 2)  # ZIP (DOS) times have 2-second steps
    assert {i.date_time for i in infos} == {dos_time}
    assert all(i.flag_bits & 0x800 for i in infos if not i.filename.isascii())


def test_same_input_gives_the_same_bytes(tmp_path: Path, uscc: str) -> None:
    first, _ = build_sample(tmp_path / "a", uscc)
    second, _ = build_sample(tmp_path / "b", uscc)
    assert first == second
    stored, _ = build_sample(tmp_path / "c", uscc, compression="stored")
    assert stored != first
    with zipfile.ZipFile(io.BytesIO(stored)) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    assert verify_package(io.BytesIO(stored)).files == verify_package(io.BytesIO(first)).files


class _Pipe(io.RawIOBase):
    """A write-only, non-seekable sink (like stdout into a pipe)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def test_a_package_written_to_a_pipe_verifies(tmp_path: Path, uscc: str) -> None:
    pipe = _Pipe()
    build_package(
        pipe,  # type: ignore[arg-type]
        sample_files(tmp_path),
        tender_id=TENDER,
        lot_ids=[],
        bidder_uscc=uscc,
        prices=[price(None)],
        machine_code=MACHINE,
        client=CLIENT,
        created_at=NOW,
    )
    manifest = verify_package(io.BytesIO(bytes(pipe.data)))
    assert manifest.lot_ids == () and manifest.prices[0].lot_id is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("/etc/passwd", "absolute"),
        ("../evil.pdf", "'..'"),
        ("a/../../b", "'..'"),
        ("a\\b.pdf", "contains"),
        ("C:evil", "':'"),
        ("bad\x00name", "control"),
        ("bad\nname", "control"),
        ("rtl\u202efdp.exe", "control"),
        ("a//b", "empty"),
        ("trailing. ", "space"),
        ("CON.txt", "reserved"),
        ("x" * 256, "longer"),
        ("e\u0301.pdf", "normal form"),
    ],
)
def test_unsafe_names_are_refused(tmp_path: Path, uscc: str, name: str, why: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with pytest.raises(PackageError, match=why) as caught:
        build_package(
            io.BytesIO(),
            [PackageFile(name, path)],
            tender_id=TENDER,
            lot_ids=["1"],
            bidder_uscc=uscc,
            prices=[price("1")],
            machine_code=MACHINE,
            client=CLIENT,
            created_at=NOW,
        )
    assert caught.value.code == "package-unsafe-name"


@pytest.mark.parametrize("names", [["a.pdf", "a.pdf"], ["Report.PDF", "report.pdf"], ["图纸/a.dwg", "图纸"]])
def test_duplicate_names_are_refused(tmp_path: Path, uscc: str, names: list[str]) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    with pytest.raises(PackageError) as caught:
        build_package(
            io.BytesIO(),
            [PackageFile(n, path) for n in names],
            tender_id=TENDER,
            lot_ids=["1"],
            bidder_uscc=uscc,
            prices=[price("1")],
            machine_code=MACHINE,
            client=CLIENT,
            created_at=NOW,
        )
    assert caught.value.code == "package-unsafe-name"


def test_bad_fields_are_refused_before_any_file_is_read(tmp_path: Path, uscc: str) -> None:
    missing = PackageFile("a.pdf", tmp_path / "does-not-exist")
    common = {
        "tender_id": TENDER,
        "lot_ids": ["1"],
        "bidder_uscc": uscc,
        "prices": [price("1")],
        "machine_code": MACHINE,
        "client": CLIENT,
        "created_at": NOW,
    }
    with pytest.raises(PackageError) as caught:
        build_package(io.BytesIO(), [missing], **common)  # type: ignore[arg-type]
    assert caught.value.code == "package-input-invalid"
    (tmp_path / "a").write_bytes(b"a")
    ok = [PackageFile("a.pdf", tmp_path / "a")]
    for change, code in (
        ({"bidder_uscc": "913501001234567890"}, "package-manifest-invalid"),
        ({"machine_code": "xyz"}, "package-manifest-invalid"),
        ({"prices": [price("2")]}, "package-manifest-invalid"),
        ({"lot_ids": ["1", "1"]}, "package-manifest-invalid"),
        ({"tender_id": ""}, "package-manifest-invalid"),
    ):
        sink = io.BytesIO()
        with pytest.raises(PackageError) as caught:
            build_package(sink, ok, **{**common, **change})  # type: ignore[arg-type]
        assert caught.value.code == code
        assert sink.getvalue() == b""


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"currency": "CNY", "duration_days": 10, "quality": "合格"}, "total price"),
        ({"total_price": 1234.5, "currency": "CNY", "duration_days": 10, "quality": "q"}, "quoted decimal"),
        (
            {"total_price": "1,234.50", "currency": "CNY", "duration_days": 10, "quality": "q"},
            "plain decimal",
        ),
        ({"total_price": "1e6", "currency": "CNY", "duration_days": 10, "quality": "q"}, "plain decimal"),
        ({"total_price": "NaN", "currency": "CNY", "duration_days": 10, "quality": "q"}, "plain decimal"),
        ({"total_price": "-5", "currency": "CNY", "duration_days": 10, "quality": "q"}, "plain decimal"),
        ({"total_price": "5", "currency": "RMB", "duration_days": 10, "quality": "q"}, "did you mean CNY"),
        ({"total_price": "5", "currency": "XXQ", "duration_days": 10, "quality": "q"}, "ISO 4217"),
        ({"total_price": "5", "currency": "CNY", "duration_days": -3, "quality": "q"}, "between 1 and"),
        ({"total_price": "5", "currency": "CNY", "duration_days": "90", "quality": "q"}, "whole number"),
        ({"total_price": "5", "currency": "CNY", "duration_days": 9, "quality": ""}, "quality"),
        ({"total_price": "5", "currency": "CNY", "duration_days": 9, "quality": "q", "pm": "x"}, "unknown"),
    ],
)
def test_price_form_errors_say_what_to_fix(form: dict[str, object], message: str) -> None:
    with pytest.raises(PackageError, match=message) as caught:
        price_forms_from_input(form, ["1"])
    assert caught.value.code == "package-price-invalid"


def test_price_form_per_lot() -> None:
    form = {
        "lots": {
            "2": {"total_price": "200.00", "currency": "CNY", "duration_days": 30, "quality": "优良"},
            "1": {"total_price": 100, "currency": "CNY", "duration_days": 20, "quality": "合格"},
        }
    }
    first, second = price_forms_from_input(form, ["1", "2"])
    assert (first.lot_id, first.total_price, second.lot_id, second.total_price) == (
        "1",
        Decimal("100"),
        "2",
        Decimal("200.00"),
    )
    with pytest.raises(PackageError, match="missing"):
        price_forms_from_input(form, ["1", "3"])
    with pytest.raises(PackageError, match="one \\[lots"):
        price_forms_from_input({"total_price": "1"}, ["1", "2"])


def _with_manifest(package: bytes, raw: bytes) -> bytes:
    return rezip(package, {"manifest.json": raw})


def _codes_of(package: bytes) -> str:
    with pytest.raises(PackageError) as caught:
        verify_package(io.BytesIO(package))
    return caught.value.code


def test_tampered_packages_are_refused_with_a_stable_code(tmp_path: Path, uscc: str) -> None:
    package, _ = build_sample(tmp_path, uscc)
    data = _manifest_json(package)
    name = "files/" + data["files"][0]["name"]
    assert _codes_of(rezip(package, {name: b"changed"})) == "package-file-mismatch"
    assert _codes_of(rezip(package, {name: None})) == "package-file-missing"
    assert _codes_of(rezip(package, {}, {"files/extra.pdf": b"x"})) == "package-file-extra"
    assert _codes_of(rezip(package, {"manifest.json": None})) == "package-manifest-missing"
    pretty = json.dumps(data, ensure_ascii=False, indent=1).encode()
    assert _codes_of(_with_manifest(package, pretty)) == "package-manifest-not-canonical"
    same_size_other_hash = dict(data, files=[dict(f, sha256="0" * 64) for f in data["files"]])
    assert _codes_of(_with_manifest(package, rfc8785.dumps(same_size_other_hash))) == "package-file-mismatch"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"a":1,"a":2}', "package-manifest-invalid"),
        (b'{"x":1.5}', "package-manifest-invalid"),
        (b'{"x":NaN}', "package-manifest-invalid"),
        (b'{"x":1e400}', "package-manifest-invalid"),
        (b"[" * 100_000 + b"]" * 100_000, "package-too-large"),
        (b'{"x":' + b"9" * 5000 + b"}", "package-manifest-invalid"),
        (b"\xef\xbb\xbf{}", "package-manifest-invalid"),
        (b"\xff\xfe", "package-manifest-invalid"),
        (b"[]", "package-manifest-invalid"),
    ],
)
def test_hostile_manifest_json(raw: bytes, code: str) -> None:
    with pytest.raises(PackageError) as caught:
        parse_manifest(raw)
    assert caught.value.code == code


def test_manifest_price_must_be_a_decimal_string(tmp_path: Path, uscc: str) -> None:
    package, _ = build_sample(tmp_path, uscc)
    data = _manifest_json(package)
    for bad in ("1.5e3", "0x10", "１２３", "Infinity", " 12"):
        data["prices"][0]["total_price"] = bad
        assert _codes_of(_with_manifest(package, rfc8785.dumps(data))) == "package-price-invalid"
    data["prices"][0]["total_price"] = 12
    assert _codes_of(_with_manifest(package, rfc8785.dumps(data))) == "package-price-invalid"
