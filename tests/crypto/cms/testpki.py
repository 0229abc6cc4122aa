"""A throwaway test PKI made with ``cryptography``: a P-256 root, an intermediate, and leaves.

Written to a temporary directory as PEM too, for the ``openssl`` interoperability tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
NOW = datetime.now(UTC).replace(microsecond=0)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command line tool is not installed")


@dataclass(frozen=True)
class Cred:
    name: str
    cert: x509.Certificate
    key: PrivateKey
    cert_path: Path
    key_path: Path


@dataclass(frozen=True)
class Pki:
    dir: Path
    root: Cred
    intermediate: Cred
    ec_signer: Cred
    rsa_signer: Cred
    ec_recipient: Cred
    rsa_recipient: Cred
    other_ec_recipient: Cred
    tsa: Cred
    ca_bundle: Path

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.intermediate.cert]


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealbid test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _issue(
    name: str,
    key: PrivateKey,
    issuer: tuple[x509.Certificate, PrivateKey] | None,
    *,
    ca: bool = False,
    usage: Sequence[str] = (),
    eku: Sequence[x509.ObjectIdentifier] = (),
    serial: int | None = None,
) -> x509.Certificate:
    public = key.public_key()
    issuer_name = issuer[0].subject if issuer else _name(name)
    signing_key = issuer[1] if issuer else key
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        ),
        False,
    )
    for u in usage:
        flags[u] = True
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer_name)
        .public_key(public)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(encipher_only=False, decipher_only=False, **flags), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=True)
    return builder.sign(signing_key, hashes.SHA256())


def _save(directory: Path, name: str, cert: x509.Certificate, key: PrivateKey) -> Cred:
    cert_path = directory / f"{name}.pem"
    key_path = directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Cred(name, cert, key, cert_path, key_path)


def build_test_pki(d: Path) -> Pki:
    """Make the whole test PKI in directory ``d``."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _issue("Test Root CA", root_key, None, ca=True, usage=("key_cert_sign", "crl_sign"))
    int_key = ec.generate_private_key(ec.SECP256R1())
    inter = _issue("Test Issuing CA", int_key, (root, root_key), ca=True, usage=("key_cert_sign", "crl_sign"))
    issuer = (inter, int_key)

    def leaf(
        name: str, key: PrivateKey, usage: Sequence[str], eku: Sequence[x509.ObjectIdentifier] = ()
    ) -> Cred:
        return _save(d, name, _issue(name, key, issuer, usage=usage, eku=eku), key)

    sign_usage = ("digital_signature", "content_commitment")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_enc_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    creds = Pki(
        dir=d,
        root=_save(d, "root", root, root_key),
        intermediate=_save(d, "intermediate", inter, int_key),
        ec_signer=leaf("ec-signer", ec.generate_private_key(ec.SECP256R1()), sign_usage),
        rsa_signer=leaf("rsa-signer", rsa_key, sign_usage),
        ec_recipient=leaf("ec-opening", ec.generate_private_key(ec.SECP256R1()), ("key_agreement",)),
        rsa_recipient=leaf("rsa-recipient", rsa_enc_key, ("key_encipherment",)),
        other_ec_recipient=leaf("ec-other", ec.generate_private_key(ec.SECP256R1()), ("key_agreement",)),
        tsa=leaf(
            # pyHanko's DummyTimeStamper signs with RSA only
            "tsa",
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            ("digital_signature",),
            (ExtendedKeyUsageOID.TIME_STAMPING,),
        ),
        ca_bundle=d / "ca-bundle.pem",
    )
    creds.ca_bundle.write_bytes(
        root.public_bytes(serialization.Encoding.PEM) + inter.public_bytes(serialization.Encoding.PEM)
    )
    return creds
