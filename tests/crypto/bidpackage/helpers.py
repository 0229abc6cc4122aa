"""Shared material of the bid-package tests: the dev PKI, an opening certificate, a sample package."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crypto.bidpackage import ClientInfo, Manifest, PackageFile, PriceForm, build_package
from crypto.bidpackage.sealing import tender_uri
from crypto.cms import Signer
from crypto.pki import BuiltPki

NOW = datetime.now(UTC).replace(microsecond=0)
TENDER = "3f0e8c52-4b7a-4c11-9d7e-2a5b1c0d9e01"
MACHINE = "ab" * 32
CLIENT = ClientInfo("sealbid-bid", "1.0")


@dataclass(frozen=True)
class Opening:
    """A tender's opening key pair (what the ceremony makes) and its PEM files for openssl."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path
    key_path: Path


def make_opening(directory: Path, tender_id: str = TENDER) -> Opening:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"sealbid opening key {tender_id}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealbid"),
        ]
    )
    usage = x509.KeyUsage(False, False, False, False, True, False, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(tender_uri(tender_id))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "opening.pem", directory / "opening.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Opening(cert, key, cert_path, key_path)


def uscc_of(dev: BuiltPki, tenderer: str) -> str:
    from crypto.bidpackage import certificate_uscc

    uscc = certificate_uscc(dev.signing(tenderer).certificate)
    assert uscc is not None
    return uscc


def signer_of(dev: BuiltPki, tenderer: str) -> Signer:
    cred = dev.signing(tenderer)
    return Signer(cred.certificate, cred.private_key, tuple(dev.chain(cred.name)))


def price(lot_id: str | None = None, total: str = "1234567.89") -> PriceForm:
    return PriceForm(lot_id, Decimal(total), "CNY", 180, "合格", (("项目经理", "张三"),))


def sample_files(directory: Path) -> list[PackageFile]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "商务标/报价单.pdf": b"%PDF-1.7 price sheet " * 200,
        "技术标/施工组织设计.docx": bytes(range(256)) * 300,
        "资格审查/营业执照.jpg": b"\xff\xd8\xff" + b"\x00" * 5000,
    }
    out = []
    for i, (name, data) in enumerate(sorted(files.items())):
        path = directory / f"f{i}"
        path.write_bytes(data)
        out.append(PackageFile(name, path))
    return out


def build_sample(
    directory: Path, uscc: str, *, tender_id: str = TENDER, compression: str = "deflated"
) -> tuple[bytes, Manifest]:
    sink = io.BytesIO()
    manifest = build_package(
        sink,
        sample_files(directory / "src"),
        tender_id=tender_id,
        lot_ids=["1"],
        bidder_uscc=uscc,
        prices=[price("1")],
        machine_code=MACHINE,
        client=CLIENT,
        created_at=NOW,
        compression=compression,  # type: ignore[arg-type]
    )
    return sink.getvalue(), manifest


def rezip(original: bytes, changes: dict[str, bytes | None], extra: dict[str, bytes] | None = None) -> bytes:
    """A copy of a package with entries replaced (bytes), dropped (None) or added (``extra``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = changes.get(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out.getvalue()
