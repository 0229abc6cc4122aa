"""The platform's certificate checker, built from settings.

Trust anchors are ``settings.trust_anchor_files`` (+ ``intermediate_files``). With ``settings.dev_pki``
the development PKI under ``settings.dev_pki_dir`` is trusted too, and revocation is answered in memory
by that PKI's own :class:`~crypto.pki.revocation.RevocationAuthority` — the same authority the
``/dev-pki`` endpoints serve, so a revocation there is seen by validation. Otherwise OCSP and CRLs are
fetched from the network. The dev PKI is loaded on first use and reloaded when ``sealbid pki init``
rewrites it, so a running development server picks up a new PKI without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from crypto.pki import BuiltPki, InMemoryRevocationFetching, NetworkRevocationFetching, RevocationAuthority
from crypto.pki.parsing import CertInput, MalformedCertificate, parse_certificates
from crypto.pki.tsa import TimeStampingAuthority
from crypto.pki.validation import CertificateChecker, CertVerdict, Purpose, RevocationPolicy, VerdictReason
from tendering.identity.pki import identity_mapping
from tendering.settings import Settings

#: File in the dev PKI directory holding the password of its private keys (mode 0600, dev only).
SERVER_PASSWORD_FILE = "server-password"  # noqa: S105 - a file name, not a password

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class DevPki:
    """A loaded development PKI with its live revocation authority and time-stamping authority."""

    pki: BuiltPki
    authority: RevocationAuthority
    tsa: TimeStampingAuthority | None


def load_dev_pki(directory: Path, clock: Clock) -> DevPki | None:
    """Load the dev PKI written by ``sealbid pki init``; None when there is none."""
    password_file = directory / SERVER_PASSWORD_FILE
    if not (directory / "index.json").is_file() or not password_file.is_file():
        return None
    pki = BuiltPki.load(directory, password_file.read_bytes().strip())
    return dev_pki_services(pki, clock)


def dev_pki_services(pki: BuiltPki, clock: Clock) -> DevPki:
    """Revocation and time-stamping authorities for a built PKI, on the platform clock."""
    tsa_names = [
        c.name for c in pki.credentials.values() if c.service is not None and c.service.value == "tsa"
    ]
    tsa = pki.tsa(tsa_names[0], clock=clock) if tsa_names else None
    return DevPki(pki, pki.revocation_authority(clock=clock), tsa)


def _read_certificates(paths: Iterable[Path]) -> list[bytes]:
    certs: list[bytes] = []
    for path in paths:
        try:
            first, rest = parse_certificates(path.read_bytes())
        except (OSError, MalformedCertificate) as exc:
            msg = f"cannot read certificates from {path}: {exc}"
            raise ValueError(msg) from exc
        certs.extend(c.der for c in (first, *rest))
    return certs


class PlatformCertificateChecker:
    """Validates certificates as configured; a thin, reloading wrapper over :class:`CertificateChecker`."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._checker: CertificateChecker | None = None
        self._dev: DevPki | None = None
        self._dev_stamp: float | None = None
        self._pinned = False

    def use_dev_pki(self, pki: BuiltPki | None) -> DevPki | None:
        """Trust ``pki`` (instead of the one on disk) from now on; for tests and the demo."""
        with self._lock:
            self._dev = dev_pki_services(pki, self.clock) if pki is not None else None
            self._pinned = True
            self._checker = self._build()
            return self._dev

    def dev_pki(self) -> DevPki | None:
        """The development PKI in use (None when ``dev_pki`` is off or none was made)."""
        self._current()
        return self._dev

    def validate(
        self,
        cert: CertInput,
        *,
        purpose: str,
        at: datetime | None = None,
        intermediates: Iterable[CertInput] = (),
    ) -> CertVerdict:
        """Validate ``cert`` for ``purpose`` (signing, encryption, login) at ``at`` (default now)."""
        checker = self._current()
        if checker is None:
            return CertVerdict(
                False,
                VerdictReason.UNTRUSTED,
                "no trust anchors are configured (set trust_anchor_files, or run: sealbid pki init)",
                Purpose(purpose),
                at or self.clock(),
            )
        return checker.validate(cert, purpose=Purpose(purpose), at=at, intermediates=intermediates)

    def clear_cache(self) -> None:
        """Forget cached verdicts."""
        checker = self._current()
        if checker is not None:
            checker.clear_cache()

    def _current(self) -> CertificateChecker | None:
        with self._lock:
            if self.settings.dev_pki and not self._pinned:
                index = self.settings.dev_pki_dir / "index.json"
                stamp = index.stat().st_mtime if index.exists() else None
                if stamp != self._dev_stamp or self._checker is None:
                    self._dev = load_dev_pki(self.settings.dev_pki_dir, self.clock) if stamp else None
                    self._dev_stamp = stamp
                    self._checker = self._build()
            elif self._checker is None:
                self._checker = self._build()
            return self._checker

    def _build(self) -> CertificateChecker | None:
        settings = self.settings
        anchors: list[CertInput] = list(_read_certificates(settings.trust_anchor_files))
        intermediates: list[CertInput] = list(_read_certificates(settings.intermediate_files))
        fetching: InMemoryRevocationFetching | NetworkRevocationFetching = NetworkRevocationFetching()
        if self._dev is not None:
            anchors.extend(self._dev.pki.roots)
            intermediates.extend(self._dev.pki.intermediates)
            fetching = InMemoryRevocationFetching(self._dev.authority)
        if not anchors:
            return None
        return CertificateChecker(
            anchors,
            intermediates=intermediates,
            revocation=RevocationPolicy(settings.revocation_policy),
            fetching=fetching,
            identity_mapping=identity_mapping(settings.identity_uscc_oids),
            cache_ttl=settings.cert_cache_ttl_seconds,
            clock=self.clock,
        )
