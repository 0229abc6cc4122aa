"""``sealbid identity``: the identity registry from the server's console.

Run on the server (it uses the server's settings and database directly). ``grant`` is also how the
first administrator of a production installation is made.
"""

# ruff: noqa: PLC0415 - server modules are imported lazily so `sealbid --help` and the client stay light

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import click

from api.cli_settings import settings_from

if TYPE_CHECKING:
    from tendering.identity.registry import IdentitySummary
    from tendering.platform import Platform


def _platform(ctx: click.Context) -> Platform:
    from tendering.platform import build_platform

    return build_platform(settings_from(ctx))


def _show(summary: IdentitySummary) -> None:
    roles = ", ".join(summary.roles) or "(none)"
    click.echo(f"{summary.id}  {summary.kind:<10} {summary.subject_id:<18} {summary.name}  roles: {roles}")
    for fingerprint, purpose, status in summary.certificates:
        click.echo(f"    {purpose:<10} {status:<8} {fingerprint}")


@click.group("identity")
def identity() -> None:
    """Identities, certificates and roles (server console)."""


@identity.command("grant")
@click.option(
    "--cert", "cert", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PEM or DER."
)
@click.option("--role", "roles", multiple=True, required=True, help="Role to grant (repeatable).")
@click.option("--purpose", type=click.Choice(["signing", "encryption"]), default="signing", show_default=True)
@click.option(
    "--organisation-kind",
    type=click.Choice(["enterprise", "agency", "authority", "platform"]),
    default="enterprise",
    show_default=True,
)
@click.pass_context
def grant(
    ctx: click.Context, cert: Path, roles: tuple[str, ...], purpose: str, organisation_kind: str
) -> None:
    """Validate a certificate, register its subject and grant it roles."""
    from tendering.errors import SealbidError
    from tendering.identity.audit import Actor
    from tendering.identity.service import grant_by_certificate

    platform = _platform(ctx)
    try:
        summary = grant_by_certificate(
            platform,
            cert.read_bytes(),
            list(roles),
            actor=Actor.system("console"),
            basis="console",
            organisation_kind=organisation_kind,
            purpose=purpose,
        )
    except SealbidError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        platform.close()
    _show(summary)


@identity.command("revoke-role")
@click.option("--identity", "identity_id", required=True, type=click.UUID)
@click.option("--role", required=True)
@click.pass_context
def revoke_role(ctx: click.Context, identity_id: uuid.UUID, role: str) -> None:
    """Take a role away from an identity."""
    from tendering.errors import SealbidError
    from tendering.identity.audit import Actor
    from tendering.identity.service import revoke_from_identity

    platform = _platform(ctx)
    try:
        _show(revoke_from_identity(platform, identity_id, role, actor=Actor.system("console")))
    except SealbidError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        platform.close()


@identity.command("revoke-cert")
@click.option("--fingerprint", required=True, help="SHA-256 of the certificate (hex).")
@click.option("--reason", default="revoked at the server console", show_default=True)
@click.pass_context
def revoke_cert(ctx: click.Context, fingerprint: str, reason: str) -> None:
    """Revoke a certificate on the platform (sessions bound to it end at once)."""
    from tendering.errors import SealbidError
    from tendering.identity.audit import Actor
    from tendering.identity.service import revoke_registered_certificate

    platform = _platform(ctx)
    try:
        _show(
            revoke_registered_certificate(platform, fingerprint, reason=reason, actor=Actor.system("console"))
        )
    except SealbidError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        platform.close()


@identity.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List registered identities with their roles and certificates."""
    from tendering.identity.service import list_identities

    platform = _platform(ctx)
    try:
        for summary in list_identities(platform, limit=1000):
            _show(summary)
    finally:
        platform.close()
