"""Low-level certificate issuance with cryptography's X.509 builders.

Profiles (RFC 5280): CA certificates get a critical BasicConstraints(ca), a critical KeyUsage
(keyCertSign, cRLSign, digitalSignature so the CA may sign OCSP responses itself), SKI and AKI.
End-entity certificates get a critical BasicConstraints(not ca), a critical KeyUsage, SKI, AKI,
AuthorityInformationAccess (OCSP and caIssuers) and CRLDistributionPoints pointing at the issuing CA's
endpoints under the PKI's base URL, plus ExtendedKeyUsage where a service needs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from crypto.pki.spec import KeyType

__all__ = [
    "KEY_USAGE_NAMES",
    "CertProfile",
    "EndpointUrls",
    "PrivateKey",
    "generate_key",
    "issue_certificate",
    "key_usage",
    "make_name",
]

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
"""The private key types the PKI generates and loads."""

KEY_USAGE_NAMES = frozenset(
    {
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    }
)


@dataclass(frozen=True)
class EndpointUrls:
    """URLs of a PKI's public endpoints, all under ``base_url``."""

    base_url: str

    def _base(self) -> str:
        return self.base_url.rstrip("/")

    def ocsp(self, ca_name: str) -> str:
        """OCSP responder URL of a CA (POST, application/ocsp-request)."""
        return f"{self._base()}/ocsp/{ca_name}"

    def crl(self, ca_name: str) -> str:
        """CRL URL of a CA (DER)."""
        return f"{self._base()}/crl/{ca_name}.crl"

    def ca_issuers(self, ca_name: str) -> str:
        """URL of a CA's certificate (DER), named in caIssuers."""
        return f"{self._base()}/ca/{ca_name}.cer"

    def tsa(self, name: str) -> str:
        """RFC 3161 time-stamping URL of a TSA (POST, application/timestamp-query)."""
        return f"{self._base()}/tsa/{name}"


@dataclass(frozen=True)
class CertProfile:
    """What kind of certificate to issue."""

    key_usage: x509.KeyUsage
    ca: bool = False
    path_length: int | None = None
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] = ()
    eku_critical: bool = False
    ocsp_nocheck: bool = False
    revocation_pointers: bool = True
    """AIA OCSP + CRLDistributionPoints (off for OCSP responders, which carry ocsp-nocheck)."""


def generate_key(key_type: KeyType) -> PrivateKey:
    """Generate a fresh key pair of the given type."""
    if key_type is KeyType.EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if key_type is KeyType.RSA_2048:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unsupported key type {key_type!r}")


def key_usage(names: Iterable[str]) -> x509.KeyUsage:
    """A KeyUsage with exactly the named bits (names of :class:`cryptography.x509.KeyUsage` arguments)."""
    wanted = set(names)
    unknown = wanted - KEY_USAGE_NAMES
    if unknown:
        raise ValueError(f"unknown key usage bits: {sorted(unknown)}")
    return x509.KeyUsage(**{name: name in wanted for name in sorted(KEY_USAGE_NAMES)})


def make_name(
    *,
    common_name: str,
    country: str | None = None,
    organization: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> x509.Name:
    """A subject name: C, O, CN, then extra (dotted OID, value) attributes in order."""
    attributes: list[x509.NameAttribute[str]] = []
    if country:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    attributes.extend(x509.NameAttribute(x509.ObjectIdentifier(oid), value) for oid, value in extra)
    return x509.Name(attributes)


def issue_certificate(
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: tuple[x509.Certificate, PrivateKey, str] | None,
    self_key: PrivateKey | None,
    not_before: datetime,
    not_after: datetime,
    profile: CertProfile,
    urls: EndpointUrls,
) -> x509.Certificate:
    """Issue one certificate.

    ``issuer`` is (CA certificate, CA key, CA name) or ``None`` for a self-signed root, in which case
    ``self_key`` signs. Revocation pointers name the issuing CA's endpoints.
    """
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=profile.ca, path_length=profile.path_length), critical=True)
        .add_extension(profile.key_usage, critical=True)
        .add_extension(ski, critical=False)
    )
    if profile.extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(profile.extended_key_usage)), critical=profile.eku_critical
        )
    if profile.ocsp_nocheck:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    if issuer is None:
        if self_key is None:
            raise ValueError("a self-signed certificate needs self_key")
        signing_key = self_key
        builder = builder.issuer_name(subject).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    else:
        ca_cert, signing_key, ca_name = issuer
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.issuer_name(ca_cert.subject).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        access = [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(urls.ca_issuers(ca_name)),
            )
        ]
        if profile.revocation_pointers:
            access.insert(
                0,
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(urls.ocsp(ca_name))
                ),
            )
            crl_point = x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(urls.crl(ca_name))],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
            builder = builder.add_extension(x509.CRLDistributionPoints([crl_point]), critical=False)
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


CA_KEY_USAGE = key_usage({"key_cert_sign", "crl_sign", "digital_signature"})
SIGNING_KEY_USAGE = key_usage({"digital_signature", "content_commitment"})
SERVICE_SIGNING_KEY_USAGE = key_usage({"digital_signature"})
TSA_EKU = (ExtendedKeyUsageOID.TIME_STAMPING,)
OCSP_EKU = (ExtendedKeyUsageOID.OCSP_SIGNING,)


def encryption_key_usage(key: PrivateKey) -> x509.KeyUsage:
    """keyAgreement for EC keys (ECDH), keyEncipherment for RSA keys (key transport)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key_usage({"key_agreement"})
    return key_usage({"key_encipherment"})
