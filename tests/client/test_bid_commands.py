"""``sealbid bid pack|seal|inspect|verify-package``: the bidder's tool, end to end, in plain words."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import Encoding

from api.client.bid_commands import bid
from api.client.machine import machine_code
from crypto.bidpackage import open_bid, verify_package
from crypto.pki import BuiltPki, TimeStampingAuthority, build_pki, dev_pki_spec
from tests.conftest import HttpTsa
from tests.crypto.bidpackage.helpers import NOW, TENDER, Opening, make_opening, uscc_of

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse"
PRICE_FORM = """
total_price = "1234567.89"
currency = "CNY"
duration_days = 180
quality = "合格"

[declared]
"项目经理" = "张三"
"""


@pytest.fixture(scope="module")
def dev() -> BuiltPki:
    return build_pki(dev_pki_spec("http://pki.test.invalid/pki", NOW))


@pytest.fixture(scope="module")
def opening(tmp_path_factory: pytest.TempPathFactory) -> Opening:
    return make_opening(tmp_path_factory.mktemp("opening"))


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    docs = tmp_path / "投标文件"
    (docs / "技术标").mkdir(parents=True)
    (docs / "技术标" / "施工组织设计.pdf").write_bytes(b"%PDF-1.7 " * 5000)
    (docs / "报价单.pdf").write_bytes(b"%PDF-1.7 price " * 100)
    (tmp_path / "form.toml").write_text(PRICE_FORM, encoding="utf-8")
    return tmp_path


def run(*args: str, obj: object = None) -> Result:
    return CliRunner().invoke(bid, list(args), obj=obj, catch_exceptions=False)


def _p12(dev: BuiltPki, name: str, directory: Path) -> Path:
    path = directory / f"{name}.p12"
    path.write_bytes(dev.to_pkcs12(name, PASSWORD.encode()))
    return path


def _pack(work: Path, uscc: str, *extra: str) -> Result:
    return run(
        "pack", "--tender", TENDER, "--lot", "1", "--uscc", uscc, "--price-form", str(work / "form.toml"),
        "--out", str(work / "bid.zip"), *extra, str(work / "投标文件"),
    )  # fmt: skip


def _seal(work: Path, dev: BuiltPki, signer: str, *extra: str, obj: object = None) -> Result:
    p12 = _p12(dev, f"{signer}-sign", work)
    return run(
        "seal", str(work / "bid.zip"), "--p12", str(p12), "--password-env", "P12_PASSWORD",
        "--out", str(work / "bid.sealed"), *extra, obj=obj,
    )  # fmt: skip


def test_bid_commands_import_without_the_server_stack() -> None:
    code = (
        "import sys; import api.client.bid_commands, api.client.machine, crypto.bidpackage; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'tendering', 'litestar', 'alembic', 'psycopg', 'dramatiq', 'redis'}); "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"client imports pulled in: {result.stdout} {result.stderr}"


def test_pack_shows_the_manifest_and_verify_package_accepts_it(dev: BuiltPki, work: Path) -> None:
    uscc = uscc_of(dev, "tenderer-1")
    result = _pack(work, uscc)
    assert result.exit_code == 0, result.output
    assert f"Bidder USCC:  {uscc}" in result.output
    assert "Lot 1:" in result.output and "1234567.89 CNY, 180 days, quality: 合格" in result.output
    assert "投标文件/技术标/施工组织设计.pdf" in result.output and "Files:        2" in result.output
    manifest = verify_package(work / "bid.zip")
    assert manifest.machine_code == machine_code(TENDER)
    assert [f.name for f in manifest.files] == ["投标文件/技术标/施工组织设计.pdf", "投标文件/报价单.pdf"]
    assert manifest.client.name == "sealbid"
    checked = run("verify-package", str(work / "bid.zip"))
    assert checked.exit_code == 0 and "is a valid bid package" in checked.output
    assert hashlib.sha256((work / "bid.zip").read_bytes()).hexdigest() in checked.output
    again = _pack(work, uscc)
    assert again.exit_code == 1 and "already exists" in again.output


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ('currency = "CNY"\nduration_days = 1\nquality = "q"\n', "total price (total_price) is missing"),
        ('total_price = 12.5\ncurrency = "CNY"\nduration_days = 1\nquality = "q"\n', "quoted decimal string"),
        ('total_price = "12,5"\ncurrency = "CNY"\nduration_days = 1\nquality = "q"\n', "not a plain decimal"),
        ('total_price = "12"\ncurrency = "RMB"\nduration_days = 1\nquality = "q"\n', "did you mean CNY"),
        ('total_price = "12"\ncurrency = "CNY"\nduration_days = -30\nquality = "q"\n', "between 1 and 36500"),
        ("total_price = ", "not valid TOML"),
    ],
)
def test_pack_explains_price_form_mistakes(dev: BuiltPki, work: Path, form: str, message: str) -> None:
    (work / "form.toml").write_text(form, encoding="utf-8")
    result = _pack(work, uscc_of(dev, "tenderer-1"))
    assert result.exit_code == 1 and message in result.output, result.output
    assert not (work / "bid.zip").exists()


def test_pack_refuses_a_bad_uscc(work: Path) -> None:
    result = _pack(work, "91350100MA1DEB0150")
    assert result.exit_code == 1 and "not a valid unified social credit code" in result.output


def test_seal_prints_the_envelope_hash_and_the_opening_accepts_it(
    dev: BuiltPki, work: Path, opening: Opening
) -> None:
    assert _pack(work, uscc_of(dev, "tenderer-1")).exit_code == 0
    result = _seal(work, dev, "tenderer-1", "--opening-cert", str(opening.cert_path))
    assert result.exit_code == 0, result.output
    envelope = (work / "bid.sealed").read_bytes()
    assert f"SHA-256:      {hashlib.sha256(envelope).hexdigest()}" in result.output
    assert f"Size:         {len(envelope)} bytes" in result.output
    verdict = open_bid(work / "bid.sealed", opening.certificate, opening.key, check_certificate=None)
    assert (
        verdict.ok and verdict.package_sha256 == hashlib.sha256((work / "bid.zip").read_bytes()).hexdigest()
    )
    shown = run("inspect", str(work / "bid.sealed"), "--opening-cert", str(opening.cert_path))
    assert shown.exit_code == 0, shown.output
    assert "CMS AuthEnvelopedData" in shown.output and "ECDH key agreement" in shown.output
    assert "Addressed to the given opening certificate: yes" in shown.output
    other = make_opening(work / "other")
    assert run("inspect", str(work / "bid.sealed"), "--opening-cert", str(other.cert_path)).exit_code == 1


def test_seal_refuses_another_organisations_certificate(dev: BuiltPki, work: Path, opening: Opening) -> None:
    assert _pack(work, uscc_of(dev, "tenderer-1")).exit_code == 0
    result = _seal(work, dev, "tenderer-2", "--opening-cert", str(opening.cert_path))
    assert result.exit_code == 1 and "[bidder-mismatch]" in result.output
    assert uscc_of(dev, "tenderer-2") in result.output and not (work / "bid.sealed").exists()


def _server(certificate: bytes | None) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/public/tenders/{TENDER}/opening-certificate" and certificate:
            return httpx.Response(200, content=certificate, headers={"content-type": "application/pkix-cert"})
        return httpx.Response(404, json={"code": "opening-key-missing"})

    return httpx.Client(base_url="http://sealbid.test", transport=httpx.MockTransport(answer))


def test_seal_fetches_the_opening_certificate_from_the_server(
    dev: BuiltPki, work: Path, opening: Opening
) -> None:
    assert _pack(work, uscc_of(dev, "tenderer-3")).exit_code == 0
    args = ("--server", "http://sealbid.test", "--tender", TENDER)
    der = opening.certificate.public_bytes(Encoding.DER)
    result = _seal(work, dev, "tenderer-3", *args, obj={"http_client": _server(der)})
    assert result.exit_code == 0, result.output
    assert open_bid(work / "bid.sealed", opening.certificate, opening.key, check_certificate=None).ok
    by_package = _seal(
        work,
        dev,
        "tenderer-3",
        "--server",
        "http://sealbid.test",
        "--force",
        obj={"http_client": _server(der)},
    )
    assert by_package.exit_code == 0, by_package.output  # the tender id comes from the package
    other = _seal(
        work,
        dev,
        "tenderer-3",
        *args[:2],
        "--tender",
        "another",
        "--force",
        obj={"http_client": _server(der)},
    )
    assert other.exit_code == 1 and f"the package is for tender {TENDER}, not another" in other.output
    missing = _seal(work, dev, "tenderer-3", *args, "--force", obj={"http_client": _server(None)})
    assert missing.exit_code == 1 and "key ceremony has not run" in missing.output
    neither = _seal(work, dev, "tenderer-3", "--force")
    assert neither.exit_code == 1 and "--opening-cert FILE or --server URL" in neither.output


def test_seal_with_a_bidder_layer(dev: BuiltPki, work: Path, opening: Opening) -> None:
    assert _pack(work, uscc_of(dev, "tenderer-4")).exit_code == 0
    enc = _p12(dev, "tenderer-4-enc", work)
    args = ("--opening-cert", str(opening.cert_path), "--bidder-layer")
    assert "--enc-p12 FILE or --enc-cert FILE" in _seal(work, dev, "tenderer-4", *args).output
    result = _seal(
        work, dev, "tenderer-4", *args, "--enc-p12", str(enc), "--enc-password-env", "P12_PASSWORD"
    )
    assert result.exit_code == 0 and "Bidder layer: yes" in result.output, result.output
    mine = dev.encryption("tenderer-4")
    verdict = open_bid(
        work / "bid.sealed",
        opening.certificate,
        opening.key,
        check_certificate=None,
        bidder_certificate=mine.certificate,
        bidder_key=mine.private_key,
    )
    assert verdict.ok and verdict.bidder_layer, verdict.reasons


@pytest.fixture
def tsa_url(dev: BuiltPki, tsa_server: Callable[[TimeStampingAuthority], HttpTsa]) -> str:
    return tsa_server(dev.tsa()).url


def test_seal_with_a_time_stamp_from_a_tsa_over_http(
    dev: BuiltPki, work: Path, opening: Opening, tsa_url: str
) -> None:
    assert _pack(work, uscc_of(dev, "tenderer-5")).exit_code == 0  # an RSA signer
    result = _seal(work, dev, "tenderer-5", "--opening-cert", str(opening.cert_path), "--tsa", tsa_url)
    assert result.exit_code == 0, result.output
    verdict = open_bid(work / "bid.sealed", opening.certificate, opening.key, check_certificate=None)
    assert verdict.ok and verdict.timestamp_valid, verdict.reasons


def test_verify_package_and_inspect_name_the_problem(dev: BuiltPki, work: Path) -> None:
    assert _pack(work, uscc_of(dev, "tenderer-1")).exit_code == 0
    original = (work / "bid.zip").read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, b"changed" if info.filename.endswith("报价单.pdf") else src.read(info))
    (work / "bad.zip").write_bytes(out.getvalue())
    bad = run("verify-package", str(work / "bad.zip"))
    assert bad.exit_code == 1 and "[package-file-mismatch]" in bad.output and "报价单.pdf" in bad.output
    not_sealed = run("inspect", str(work / "bid.zip"))
    assert not_sealed.exit_code == 1 and "is not a sealed bid" in not_sealed.output


def test_pack_with_a_json_price_form_per_lot(dev: BuiltPki, work: Path) -> None:
    lots = {
        "1": {"total_price": "800000.00", "currency": "CNY", "duration_days": 120, "quality": "合格"},
        "2": {"total_price": 450000.5, "currency": "CNY", "duration_days": 90, "quality": "优良"},
    }
    form = work / "form.json"
    form.write_text(json.dumps({"lots": lots}, ensure_ascii=False), encoding="utf-8")
    args = ["pack", "--tender", TENDER, "--lot", "1", "--lot", "2", "--uscc", uscc_of(dev, "tenderer-1")]
    args += ["--price-form", str(form), "--out", str(work / "bid.zip"), str(work / "投标文件")]
    refused = run(*args)
    assert (
        refused.exit_code == 1 and "lot 2: total_price must be written as a quoted decimal" in refused.output
    )
    lots["2"]["total_price"] = "450000.50"
    form.write_text(json.dumps({"lots": lots}, ensure_ascii=False), encoding="utf-8")
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Lot 1:        800000.00 CNY" in result.output and "Lot 2:        450000.50 CNY" in result.output
    assert [p.lot_id for p in verify_package(work / "bid.zip").prices] == ["1", "2"]
