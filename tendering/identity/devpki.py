"""``sealbid pki init``: make the development PKI on disk and register its participants.

Layout under ``settings.dev_pki_dir`` (see :mod:`crypto.pki.storage` for the first part)::

    index.json, certs/, keys/, p12/, trust/   the PKI as saved by crypto.pki (keys and p12/ encrypted
                                              with the server password)
    server-password                           that password (0600): the dev server signs OCSP, CRL
                                              and TSA answers with these keys
    participants/<name>.p12                   every participant credential, encrypted with the
                                              password given to ``pki init`` (0600)

The development PKI is a throwaway for demos and tests: it is refused in production, and its demo
password (``sealbid-demo`` unless another is given) protects nothing of value.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives.serialization import Encoding

from crypto.identity import identify
from crypto.pki import BuiltPki, CertKind, build_pki
from crypto.pki.dev import dev_pki_spec
from tendering.errors import Conflict, Forbidden
from tendering.identity.audit import Actor
from tendering.identity.checker import SERVER_PASSWORD_FILE
from tendering.identity.models import Role
from tendering.identity.service import grant_by_certificate

if TYPE_CHECKING:
    from tendering.platform import Platform

DEMO_PASSWORD: Final = "sealbid-demo"  # noqa: S105 - the documented throwaway of the demo PKI
PARTICIPANTS_DIR: Final = "participants"

#: Roles written into development certificates (hints) -> sealbid roles.
ROLE_HINTS: Final[dict[str, Role]] = {
    "tenderer": Role.TENDERER,
    "tenderee": Role.AGENCY,
    "agency": Role.AGENCY,
    "authority": Role.AUTHORITY,
    "authority.reviewer": Role.AUTHORITY,
    "authority.supervisor": Role.AUTHORITY,
    "expert": Role.EXPERT,
    "custodian": Role.CUSTODIAN,
    "monitor": Role.MONITOR,
    "admin": Role.ADMIN,
}


@dataclass(frozen=True)
class ParticipantFile:
    """One participant credential written by ``pki init``."""

    name: str
    participant: str
    usage: str
    kind: str
    subject_id: str
    display_name: str
    roles: tuple[str, ...]
    pkcs12: Path


@dataclass(frozen=True)
class DevPkiReport:
    """What ``pki init`` made."""

    directory: Path
    base_url: str
    ca_bundle: Path
    participants: tuple[ParticipantFile, ...]


def dev_pki_base_url(public_url: str) -> str:
    """Where the dev PKI's endpoints live: ``public_url + "/dev-pki"``."""
    return public_url.rstrip("/") + "/dev-pki"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def init_dev_pki(platform: Platform, password: str, *, force: bool = False) -> DevPkiReport:
    """Build the development PKI, save it, export participant PKCS#12 files and register everyone.

    The database must be migrated. Refuses in production, when ``dev_pki`` is off, and — unless
    ``force`` — when a development PKI already exists.
    """
    settings = platform.settings
    if settings.environment == "production" or not settings.dev_pki:
        raise Forbidden(
            "the development PKI is for development only (dev_pki is off here)", code="dev-pki-off"
        )
    if not password:
        raise Forbidden("a PKCS#12 password is required", code="password-required")
    directory = settings.dev_pki_dir
    if (directory / "index.json").exists() and not force:
        raise Conflict(
            f"a development PKI already exists in {directory} (use --force to replace it)", code="exists"
        )
    pki = build_pki(dev_pki_spec(dev_pki_base_url(settings.public_url), platform.clock.now()))
    server_password = secrets.token_urlsafe(32)
    shutil.rmtree(directory / PARTICIPANTS_DIR, ignore_errors=True)
    pki.save(directory, server_password.encode(), overwrite=True)  # existence was checked above
    _write_private(directory / SERVER_PASSWORD_FILE, server_password.encode() + b"\n")
    files = _export_participants(pki, directory / PARTICIPANTS_DIR, password.encode())
    platform.certificates.clear_cache()
    register_participants(platform, pki)
    return DevPkiReport(directory, pki.base_url, directory / "trust" / "ca-bundle.pem", files)


def _export_participants(pki: BuiltPki, target: Path, password: bytes) -> tuple[ParticipantFile, ...]:
    files = []
    for credential in pki.of_kind(CertKind.PARTICIPANT):
        path = target / f"{credential.name}.p12"
        _write_private(path, pki.to_pkcs12(credential.name, password))
        identity = identify(credential.certificate)
        files.append(
            ParticipantFile(
                name=credential.name,
                participant=credential.participant or credential.name,
                usage=credential.usage.value if credential.usage else "",
                kind=identity.kind.value,
                subject_id=identity.identifier,
                display_name=identity.display_name,
                roles=tuple(sorted({ROLE_HINTS[r].value for r in credential.roles if r in ROLE_HINTS})),
                pkcs12=path,
            )
        )
    return tuple(files)


def register_participants(platform: Platform, pki: BuiltPki) -> int:
    """Register every participant certificate with the roles its hints map to; returns how many."""
    actor = Actor.system("console")
    count = 0
    for credential in pki.of_kind(CertKind.PARTICIPANT):
        encryption = credential.usage is not None and credential.usage.value == "encryption"
        roles = (
            [] if encryption else sorted({ROLE_HINTS[r].value for r in credential.roles if r in ROLE_HINTS})
        )
        grant_by_certificate(
            platform,
            credential.certificate.public_bytes(Encoding.DER),
            roles,
            actor=actor,
            basis="dev-pki",
            organisation_kind="agency" if Role.AGENCY.value in roles else "enterprise",
            purpose="encryption" if encryption else "signing",
        )
        count += 1
    return count
