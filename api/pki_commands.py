"""``sealbid pki``: the development PKI (never in production)."""

# ruff: noqa: PLC0415 - server modules are imported lazily so `sealbid --help` and the client stay light

from __future__ import annotations

import os
from pathlib import Path

import click

from api.cli_settings import settings_from


@click.group("pki")
def pki() -> None:
    """Development PKI: CAs, participant certificates, OCSP/CRL/TSA for demos and tests."""


@pki.command("init")
@click.option(
    "--password", help="PKCS#12 password for the participant files (else $SEALBID_PKI_PASSWORD or a prompt)."
)
@click.option("--force", is_flag=True, help="Replace an existing development PKI.")
@click.pass_context
def init(ctx: click.Context, password: str | None, force: bool) -> None:
    """Make the development PKI, write a PKCS#12 file per participant and register them all."""
    from tendering.db import make_engine
    from tendering.errors import SealbidError
    from tendering.identity.devpki import DEMO_PASSWORD, init_dev_pki
    from tendering.migrations import upgrade
    from tendering.platform import build_platform

    settings = settings_from(ctx)
    if settings.environment == "production" or not settings.dev_pki:
        raise click.ClickException("the development PKI is refused here (production, or dev_pki is off)")
    password = password or os.environ.get("SEALBID_PKI_PASSWORD")
    if not password:
        password = click.prompt(
            "Password for the participant PKCS#12 files (demo throwaway)",
            default=DEMO_PASSWORD,
            hide_input=True,
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    platform = build_platform(settings)
    try:
        report = init_dev_pki(platform, str(password), force=force)
    except SealbidError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        platform.close()
    click.echo(f"Development PKI written to {report.directory}")
    click.echo(f"  endpoints under {report.base_url} (served by `sealbid serve`)")
    click.echo(f"  CA bundle: {report.ca_bundle}")
    click.echo(f"Participants (PKCS#12 in {report.directory / 'participants'}), registered with their roles:")
    for entry in report.participants:
        roles = ",".join(entry.roles) or "-"
        click.echo(
            f"  {entry.name:<18} {entry.usage:<10} {entry.kind:<10} {entry.subject_id:<18} {roles:<10} "
            f"{entry.display_name}"
        )
    first = next((e for e in report.participants if e.usage == "signing"), None)
    if first is not None:
        shown = _relative(first.pkcs12)
        click.echo(f"Log in with, e.g.: sealbid login --server {settings.public_url} --p12 {shown}")


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path
