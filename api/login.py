"""Login endpoints: challenge, certificate login, who am I, and the browser sign-in hand-off link."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import JSONBody

from api.auth import PRINCIPAL_DEPENDENCY, PUBLIC, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from tendering.errors import InvalidInput
from tendering.identity.browser import issue_signin_link
from tendering.identity.challenges import format_time
from tendering.identity.login import LoginRequest, login
from tendering.identity.registry import IdentitySummary
from tendering.identity.service import issue_login_challenge, who_am_i


def decode_b64(value: str, what: str) -> bytes:
    """Standard or URL-safe base64 (padding optional), or a PEM text passed through; else InvalidInput."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        try:
            return text.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidInput(
                f"{what} is not a PEM text (non-ASCII characters)", code="invalid-pem"
            ) from None
    try:
        return base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64", code="invalid-base64") from None


def identity_document(summary: IdentitySummary) -> dict[str, Any]:
    """The JSON shape of an identity."""
    return {
        "id": str(summary.id),
        "kind": summary.kind,
        "subject_id": summary.subject_id,
        "name": summary.name,
        "roles": list(summary.roles),
        "certificates": [
            {"fingerprint": fingerprint, "purpose": purpose, "status": status}
            for fingerprint, purpose, status in summary.certificates
        ],
    }


@dataclass
class LoginBody:
    """``POST /auth/login``: the signed challenge (binary fields in base64; certificates may be PEM)."""

    challenge_id: str
    certificate: str
    signature: str
    signature_algorithm: str = "ecdsa-sha256"
    chain: list[str] = field(default_factory=list)
    encryption_certificate: str | None = None


@dataclass
class BrowserLinkBody:
    """``POST /auth/browser-link``: the portal page to open after signing in (default the list)."""

    next: str | None = None


class LoginController(Controller):
    """Challenge-response login with X.509 certificates."""

    path = "/auth"
    tags = ["login"]  # noqa: RUF012 - Litestar layer attribute
    dependencies = PRINCIPAL_DEPENDENCY

    @post("/challenge", opt=PUBLIC, sync_to_thread=True, summary="A single-use login challenge")
    def challenge(self, platform: PlatformDep) -> dict[str, Any]:
        """Issue a challenge; sign the RFC 8785 canonical JSON of ``challenge`` (= ``signing_input``)."""
        view = issue_login_challenge(platform)
        return {
            "challenge": view.document(),
            "signing_input": base64.b64encode(view.signing_input()).decode("ascii"),
            "expires_at": format_time(view.expires_at),
        }

    @post(
        "/login", opt=PUBLIC, sync_to_thread=True, status_code=200, summary="Log in with a signed challenge"
    )
    def login(
        self, platform: PlatformDep, data: JSONBody[LoginBody], request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        """Check the signed challenge and the certificate; answer with a bearer token and the roles."""
        parsed = LoginRequest(
            challenge_id=data.challenge_id,
            certificate=decode_b64(data.certificate, "certificate"),
            signature=decode_b64(data.signature, "signature"),
            signature_algorithm=data.signature_algorithm,
            chain=tuple(decode_b64(item, "chain certificate") for item in data.chain),
            encryption_certificate=(
                decode_b64(data.encryption_certificate, "encryption certificate")
                if data.encryption_certificate
                else None
            ),
        )
        result = login(platform, parsed, address=client_address(request))
        return {
            "token": result.token,
            "token_type": "Bearer",
            "expires_at": format_time(result.claims.expires_at),
            "roles": list(result.claims.roles),
            "registered": result.registered,
            "identity": identity_document(result.identity),
        }

    @get("/me", guards=[requires()], sync_to_thread=True, summary="The logged-in identity and its roles")
    def me(self, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
        """Who the token belongs to, the roles in force and when the token expires."""
        summary = who_am_i(platform, principal)
        return {
            "identity": identity_document(summary),
            "roles": list(principal.roles),
            "certificate": principal.fingerprint,
            "expires_at": format_time(principal.expires_at),
        }

    @post(
        "/browser-link",
        guards=[requires()],
        sync_to_thread=True,
        status_code=201,
        summary="A single-use link that signs a browser in as the caller",
    )
    def browser_link(
        self, platform: PlatformDep, principal: PrincipalDep, data: JSONBody[BrowserLinkBody] | None = None
    ) -> dict[str, Any]:
        """A sign-in link for the portal, bound to this login's identity, certificate and roles; it
        works once, within 60 seconds (bearer token only: a browser session cannot mint links)."""
        link = issue_signin_link(platform, principal, data.next if data else None)
        base_url = platform.settings.public_url.rstrip("/")
        return {
            "url": f"{base_url}/signin?{urlencode({'token': link.secret})}",
            "expires_at": format_time(link.expires_at),
            "next": link.next_path,
        }
