"""The opening-key ceremony bundle: upload by the lead custodian, verification, the opening certificate.

Custodian routes (``/custodian/tenders/{id}/opening-key``): the custodian list with encryption
certificates for the ceremony tool, the bundle upload, and a custodian's own encrypted share. The
opening certificate of a published tender is public (``/public/tenders/{id}/opening-certificate``):
bidders seal to it. Controllers only parse and shape; the rules are in ``tendering.bids.opening_keys``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler

from api.auth import PRINCIPAL_DEPENDENCY, PUBLIC, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from tendering.bids import opening_keys
from tendering.bids.opening_key_models import CeremonyPlan, OwnShare, Registration
from tendering.errors import InvalidInput
from tendering.identity.models import Role


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64", code="invalid-base64") from None


def _time(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def plan_document(plan: CeremonyPlan) -> dict[str, Any]:
    """The ceremony plan as JSON."""
    return {
        "tender": str(plan.tender_id),
        "title": plan.title,
        "state": plan.state,
        "threshold": plan.threshold,
        "share_count": len(plan.custodians),
        "publication_time": _time(plan.publication_time),
        "bid_deadline": _time(plan.bid_deadline),
        "suggested_not_after": _time(plan.suggested_not_after),
        "registered_certificate_sha256": plan.registered_certificate_sha256,
        "custodians": [
            {
                "index": c.index,
                "identity": str(c.identity_id),
                "name": c.name,
                "lead": c.index == 1,
                "encryption_certificate": _b64(c.certificate_der) if c.certificate_der else None,
                "encryption_certificate_sha256": c.certificate_sha256,
            }
            for c in plan.custodians
        ],
    }


def registration_document(registration: Registration) -> dict[str, Any]:
    """A registered opening key as JSON."""
    return {
        "tender": str(registration.tender_id),
        "opening_certificate_sha256": registration.opening_certificate_sha256,
        "bundle_sha256": registration.bundle_sha256,
        "threshold": registration.threshold,
        "share_count": registration.share_count,
        "commitments": [{"index": i, "commitment": c} for i, c in registration.commitments],
        "created": registration.created,
    }


def share_document(share: OwnShare) -> dict[str, Any]:
    """A custodian's own (encrypted) share as JSON."""
    return {
        "tender": str(share.tender_id),
        "index": share.index,
        "threshold": share.threshold,
        "share_count": share.share_count,
        "encrypted_share": _b64(share.encrypted_share),
        "commitment": share.commitment,
        "custodian_certificate_sha256": share.custodian_certificate_sha256,
        "opening_certificate": _b64(share.opening_certificate_der),
        "opening_certificate_sha256": share.opening_certificate_sha256,
    }


@dataclass
class BundleUpload:
    """``POST .../opening-key``: the canonical JSON bundle and its detached CMS signature, base64."""

    bundle: str
    signature: str


class CustodianOpeningKeyController(Controller):
    """The key ceremony, as seen by a tender's custodians."""

    path = "/custodian/tenders/{tender_id:uuid}/opening-key"
    tags = ["opening key (custodian)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.CUSTODIAN)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/custodians", sync_to_thread=True, summary="Custodians and their encryption certificates")
    def custodians(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """The opening policy and whom the ceremony encrypts shares to (custodians of the tender only)."""
        actor = principal.actor(Role.CUSTODIAN, client_address(request))
        return plan_document(opening_keys.ceremony_plan(platform, tender_id, actor=actor))

    @post("/", sync_to_thread=True, summary="Register the signed ceremony bundle (lead custodian)")
    def upload(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[BundleUpload],
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]]:
        """201 when registered now, 200 for a byte-identical re-upload."""
        registration = opening_keys.register_bundle(
            platform,
            tender_id,
            _unb64(data.bundle, "bundle"),
            _unb64(data.signature, "signature"),
            actor=principal.actor(Role.CUSTODIAN, client_address(request)),
        )
        status = 201 if registration.created else 200
        return Response(registration_document(registration), status_code=status)

    @get("/share", sync_to_thread=True, summary="My encrypted share of the opening key")
    def share(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """The caller's share, still encrypted to its encryption certificate, and its commitment."""
        actor = principal.actor(Role.CUSTODIAN, client_address(request))
        return share_document(opening_keys.own_share(platform, tender_id, actor=actor))


class OpeningCertificateController(Controller):
    """The opening certificate of a published tender: public, bidders seal to it."""

    path = "/public/tenders/{tender_id:uuid}/opening-certificate"
    tags = ["opening key"]  # noqa: RUF012
    opt = PUBLIC

    @get("/", sync_to_thread=True, summary="The tender's opening certificate (DER or PEM)")
    def certificate(
        self,
        *,
        platform: PlatformDep,
        tender_id: FromPath[uuid.UUID],
        encoding: Annotated[str, QueryParameter(name="format", pattern="^(der|pem)$")] = "der",
    ) -> Response[bytes]:
        """``?format=der`` (default, application/pkix-cert) or ``?format=pem``."""
        der = opening_keys.public_opening_certificate(platform, tender_id)
        if encoding == "pem":
            pem = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)
            return Response(pem, media_type="application/x-pem-file")
        return Response(der, media_type="application/pkix-cert")


def opening_key_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return [CustodianOpeningKeyController, OpeningCertificateController]
