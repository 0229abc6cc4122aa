"""Administration of identities: enrol by certificate, grant and revoke roles, revoke certificates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import PRINCIPAL_DEPENDENCY, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from api.login import decode_b64, identity_document
from tendering.identity.models import Role
from tendering.identity.service import (
    grant_by_certificate,
    grant_to_identity,
    list_identities,
    revoke_from_identity,
    revoke_registered_certificate,
)


@dataclass
class EnrolBody:
    """``POST /admin/identities``: a certificate (base64 DER or PEM) and the roles to grant its subject."""

    certificate: str
    roles: list[str] = field(default_factory=list)
    organisation_kind: str = "enterprise"
    purpose: str = "signing"


@dataclass
class RoleBody:
    """``POST /admin/identities/{id}/roles``."""

    role: str


@dataclass
class RevokeBody:
    """``POST /admin/certificates/{fingerprint}/revoke``."""

    reason: str = "revoked by an administrator"


class IdentityAdminController(Controller):
    """Only administrators may change who holds which role."""

    path = "/admin"
    tags = ["administration"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.ADMIN)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/identities", sync_to_thread=True, summary="Registered identities with their roles")
    def identities(
        self,
        platform: PlatformDep,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        """List identities, oldest first."""
        return [identity_document(s) for s in list_identities(platform, limit=limit, offset=offset)]

    @post("/identities", sync_to_thread=True, status_code=200, summary="Enrol a certificate's subject")
    def enrol(
        self,
        platform: PlatformDep,
        principal: PrincipalDep,
        data: JSONBody[EnrolBody],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Validate the certificate, register its subject and certificate, grant the roles."""
        summary = grant_by_certificate(
            platform,
            decode_b64(data.certificate, "certificate"),
            data.roles,
            actor=principal.actor(Role.ADMIN, client_address(request)),
            organisation_kind=data.organisation_kind,
            purpose=data.purpose,
        )
        return identity_document(summary)

    @post(
        "/identities/{identity_id:uuid}/roles", sync_to_thread=True, status_code=200, summary="Grant a role"
    )
    def grant(
        self,
        platform: PlatformDep,
        principal: PrincipalDep,
        identity_id: FromPath[uuid.UUID],
        data: JSONBody[RoleBody],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Grant a role to a registered identity (idempotent)."""
        actor = principal.actor(Role.ADMIN, client_address(request))
        return identity_document(grant_to_identity(platform, identity_id, data.role, actor=actor))

    @delete(
        "/identities/{identity_id:uuid}/roles/{role:str}",
        sync_to_thread=True,
        status_code=200,
        summary="Revoke a role",
    )
    def revoke(
        self,
        platform: PlatformDep,
        principal: PrincipalDep,
        identity_id: FromPath[uuid.UUID],
        role: FromPath[str],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Take a role away (idempotent)."""
        actor = principal.actor(Role.ADMIN, client_address(request))
        return identity_document(revoke_from_identity(platform, identity_id, role, actor=actor))

    @post(
        "/certificates/{fingerprint:str}/revoke",
        sync_to_thread=True,
        status_code=200,
        summary="Revoke a certificate on the platform",
    )
    def revoke_certificate(
        self,
        platform: PlatformDep,
        principal: PrincipalDep,
        fingerprint: FromPath[str],
        data: JSONBody[RevokeBody],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Mark a certificate revoked; tokens bound to it are refused from the next request on."""
        actor = principal.actor(Role.ADMIN, client_address(request))
        return identity_document(
            revoke_registered_certificate(platform, fingerprint, reason=data.reason, actor=actor)
        )
