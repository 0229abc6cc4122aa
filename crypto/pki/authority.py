"""Build a PKI from a declarative :class:`~crypto.pki.spec.PkiSpec`, and use it.

:func:`build_pki` generates every key at run time and issues every certificate; :class:`BuiltPki`
then hands out credentials, a :class:`~crypto.pki.revocation.RevocationAuthority` (OCSP + CRL), an
RFC 3161 :class:`~crypto.pki.tsa.TimeStampingAuthority`, a ready :class:`CertificateChecker`, PKCS#12
files, and saves to / loads from a directory (see :mod:`crypto.pki.storage`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from crypto.identity import ORGANIZATION_IDENTIFIER, ROLE, SERIAL_NUMBER, CertUsage, IdentityKind
from crypto.pki import storage
from crypto.pki.certs import (
    CA_KEY_USAGE,
    OCSP_EKU,
    SERVICE_SIGNING_KEY_USAGE,
    SIGNING_KEY_USAGE,
    TSA_EKU,
    CertProfile,
    EndpointUrls,
    encryption_key_usage,
    generate_key,
    issue_certificate,
    key_usage,
    make_name,
)
from crypto.pki.credentials import CertKind, Credential, pkcs12_bytes
from crypto.pki.fetchers import InMemoryRevocationFetching
from crypto.pki.revocation import IssuerRecord, RevocationAuthority, RevocationStatus
from crypto.pki.spec import CASpec, LeafPurpose, LeafSpec, PkiSpec, Revocation, ServiceKind, ServiceSpec
from crypto.pki.tsa import TimeStampingAuthority
from crypto.pki.validation import CertificateChecker, RevocationPolicy

__all__ = ["BuiltPki", "build_pki"]

Clock = Callable[[], datetime]


class BuiltPki:
    """Keys and certificates of a built (or loaded) PKI, by credential name.

    Credential names: CAs and services by their spec name; a participant ``x`` has ``x-sign`` and/or
    ``x-enc``.
    """

    def __init__(self, *, base_url: str, now: datetime, credentials: Iterable[Credential]) -> None:
        self.base_url = base_url
        self.now = now
        self.urls = EndpointUrls(base_url)
        self.credentials: Mapping[str, Credential] = {c.name: c for c in credentials}

    def credential(self, name: str) -> Credential:
        """The credential called ``name`` (KeyError if there is none)."""
        return self.credentials[name]

    def signing(self, participant: str) -> Credential:
        """The signing credential of a participant."""
        return self.credentials[f"{participant}-sign"]

    def encryption(self, participant: str) -> Credential:
        """The encryption credential of a participant."""
        return self.credentials[f"{participant}-enc"]

    def participants(self) -> list[str]:
        """Names of all participants, in spec order."""
        names = (c.participant for c in self.credentials.values() if c.participant is not None)
        return list(dict.fromkeys(names))

    def of_kind(self, kind: CertKind) -> list[Credential]:
        """All credentials of one kind, parents before children."""
        return [c for c in self.credentials.values() if c.kind is kind]

    @property
    def roots(self) -> list[x509.Certificate]:
        """Self-signed root CA certificates."""
        return [c.certificate for c in self.of_kind(CertKind.CA) if c.issuer is None]

    @property
    def intermediates(self) -> list[x509.Certificate]:
        """Subordinate CA certificates."""
        return [c.certificate for c in self.of_kind(CertKind.CA) if c.issuer is not None]

    def chain(self, name: str) -> list[x509.Certificate]:
        """Issuer certificates of a credential, from its issuer up to the root."""
        chain: list[x509.Certificate] = []
        issuer = self.credentials[name].issuer
        while issuer is not None:
            chain.append(self.credentials[issuer].certificate)
            issuer = self.credentials[issuer].issuer
        return chain

    def revocation_authority(self, *, clock: Clock | None = None, **options: Any) -> RevocationAuthority:
        """A new revocation authority (its own copy of the revocation table) for every CA.

        ``options`` go to :class:`RevocationAuthority` (``ocsp_validity``, ``crl_validity``, ``backdate``).
        """
        records = []
        for ca in self.of_kind(CertKind.CA):
            issued = {
                c.certificate.serial_number: c.revocation
                for c in self.credentials.values()
                if c.issuer == ca.name
            }
            responder = None
            if ca.ocsp_responder is not None:
                signer = self.credentials[ca.ocsp_responder]
                responder = (signer.certificate, signer.private_key)
            records.append(IssuerRecord(ca.name, ca.certificate, ca.private_key, responder, issued))
        return RevocationAuthority(records, self.urls, clock=clock, **options)

    def tsa(self, name: str = "tsa", *, clock: Clock | None = None) -> TimeStampingAuthority:
        """The RFC 3161 time-stamping authority of service ``name``."""
        credential = self.credentials[name]
        if credential.service is not ServiceKind.TSA:
            raise KeyError(f"{name!r} is not a TSA")
        return TimeStampingAuthority(
            credential.certificate, credential.private_key, self.chain(name), clock=clock
        )

    def checker(
        self,
        *,
        roots: Iterable[str] | None = None,
        revocation: RevocationPolicy = RevocationPolicy.REQUIRE,
        authority: RevocationAuthority | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> CertificateChecker:
        """A :class:`CertificateChecker` trusting this PKI's roots (or the named ones), with the
        intermediates configured and in-memory revocation fetching from ``authority`` (default: a new
        :meth:`revocation_authority`). ``options`` go to the checker (``cache_ttl``, ...).
        """
        anchors = self.roots if roots is None else [self.credentials[r].certificate for r in roots]
        fetching = InMemoryRevocationFetching(authority or self.revocation_authority())
        return CertificateChecker(
            anchors,
            intermediates=self.intermediates,
            revocation=revocation,
            fetching=fetching,
            clock=clock,
            **options,
        )

    def to_pkcs12(self, name: str, password: bytes) -> bytes:
        """PKCS#12 of credential ``name``: key, certificate and CA chain, encrypted with ``password``."""
        return pkcs12_bytes(self.credentials[name], self.chain(name), password)

    def save(self, directory: Path | str, password: bytes, *, overwrite: bool = False) -> None:
        """Write the PKI to ``directory``, keys encrypted with ``password`` (layout: :mod:`.storage`)."""
        storage.save_pki(
            Path(directory),
            base_url=self.base_url,
            now=self.now,
            credentials=list(self.credentials.values()),
            chains={name: self.chain(name) for name in self.credentials},
            password=password,
            overwrite=overwrite,
        )

    @classmethod
    def load(cls, directory: Path | str, password: bytes) -> BuiltPki:
        """Read a PKI written by :meth:`save`."""
        base_url, now, credentials = storage.load_pki(Path(directory), password)
        return cls(base_url=base_url, now=now, credentials=credentials)


def build_pki(spec: PkiSpec) -> BuiltPki:
    """Generate keys and issue every certificate the spec describes."""
    spec.check()
    now = spec.now.astimezone(UTC)
    urls = EndpointUrls(spec.base_url)
    built: dict[str, Credential] = {}
    for ca, parent in spec.iter_cas():
        built[ca.name] = _issue_ca(spec, ca, None if parent is None else built[parent.name], now, urls)
        issuer = built[ca.name]
        for service in ca.services:
            built[service.name] = _issue_service(spec, service, issuer, now, urls)
        for leaf in ca.leaves:
            for credential in _issue_leaf(spec, leaf, issuer, now, urls):
                built[credential.name] = credential
    return BuiltPki(base_url=spec.base_url, now=now, credentials=built.values())


def _absolute(revocation: Revocation | None, now: datetime) -> RevocationStatus | None:
    if revocation is None:
        return None
    return RevocationStatus((now + revocation.at).replace(microsecond=0), revocation.reason)


def _issuer(credential: Credential) -> tuple[x509.Certificate, Any, str]:
    return credential.certificate, credential.private_key, credential.name


def _issue_ca(
    spec: PkiSpec, ca: CASpec, parent: Credential | None, now: datetime, urls: EndpointUrls
) -> Credential:
    key = generate_key(ca.key_type)
    not_before, not_after = ca.validity.window(now)
    certificate = issue_certificate(
        subject=make_name(common_name=ca.display_name, country=spec.country, organization=spec.organization),
        public_key=key.public_key(),
        issuer=None if parent is None else _issuer(parent),
        self_key=key,
        not_before=not_before,
        not_after=not_after,
        profile=CertProfile(CA_KEY_USAGE, ca=True, path_length=ca.path_length),
        urls=urls,
    )
    return Credential(
        name=ca.name,
        kind=CertKind.CA,
        certificate=certificate,
        private_key=key,
        issuer=None if parent is None else parent.name,
        revocation=_absolute(ca.revoked, now),
        ocsp_responder=ca.ocsp_responder,
    )


def _issue_service(
    spec: PkiSpec, service: ServiceSpec, issuer: Credential, now: datetime, urls: EndpointUrls
) -> Credential:
    key = generate_key(service.key_type)
    not_before, not_after = service.validity.window(now)
    profile = {
        ServiceKind.OCSP_RESPONDER: CertProfile(
            SERVICE_SIGNING_KEY_USAGE,
            extended_key_usage=OCSP_EKU,
            ocsp_nocheck=True,
            revocation_pointers=False,
        ),
        ServiceKind.TSA: CertProfile(
            SERVICE_SIGNING_KEY_USAGE, extended_key_usage=TSA_EKU, eku_critical=True
        ),
        ServiceKind.PLATFORM_SIGNING: CertProfile(SIGNING_KEY_USAGE),
    }[service.kind]
    extra = [(ORGANIZATION_IDENTIFIER, service.organization_uscc)] if service.organization_uscc else []
    certificate = issue_certificate(
        subject=make_name(
            common_name=service.display_name,
            country=spec.country,
            organization=spec.organization,
            extra=extra,
        ),
        public_key=key.public_key(),
        issuer=_issuer(issuer),
        self_key=None,
        not_before=not_before,
        not_after=not_after,
        profile=profile,
        urls=urls,
    )
    return Credential(
        name=service.name,
        kind=CertKind.SERVICE,
        certificate=certificate,
        private_key=key,
        issuer=issuer.name,
        service=service.kind,
        revocation=_absolute(service.revoked, now),
    )


def _issue_leaf(
    spec: PkiSpec, leaf: LeafSpec, issuer: Credential, now: datetime, urls: EndpointUrls
) -> list[Credential]:
    extra: list[tuple[str, str]]
    organization: str | None
    if leaf.kind is IdentityKind.ENTERPRISE:
        extra = [(leaf.uscc_attribute, f"{leaf.uscc_prefix}{leaf.uscc}")]
        organization = leaf.organization or leaf.display_name
    else:
        extra = [(SERIAL_NUMBER, str(leaf.person_id))]
        organization = leaf.organization
    extra += [(ROLE, role) for role in leaf.roles]
    subject = make_name(
        common_name=leaf.display_name, country=spec.country, organization=organization, extra=extra
    )
    usages = {
        LeafPurpose.SIGNING: [CertUsage.SIGNING],
        LeafPurpose.ENCRYPTION: [CertUsage.ENCRYPTION],
        LeafPurpose.DUAL: [CertUsage.SIGNING, CertUsage.ENCRYPTION],
    }[leaf.purpose]
    not_before, not_after = leaf.validity.window(now)
    credentials = []
    for usage in usages:
        key = generate_key(leaf.key_type)
        if leaf.key_usage is not None:
            ku = key_usage(leaf.key_usage)
        elif usage is CertUsage.SIGNING:
            ku = SIGNING_KEY_USAGE
        else:
            ku = encryption_key_usage(key)
        certificate = issue_certificate(
            subject=subject,
            public_key=key.public_key(),
            issuer=_issuer(issuer),
            self_key=None,
            not_before=not_before,
            not_after=not_after,
            profile=CertProfile(ku),
            urls=urls,
        )
        suffix = "-sign" if usage is CertUsage.SIGNING else "-enc"
        credentials.append(
            Credential(
                name=f"{leaf.name}{suffix}",
                kind=CertKind.PARTICIPANT,
                certificate=certificate,
                private_key=key,
                issuer=issuer.name,
                participant=leaf.name,
                usage=usage,
                roles=leaf.roles,
                revocation=_absolute(leaf.revoked, now),
            )
        )
    return credentials
