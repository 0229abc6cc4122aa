"""``sealbid experts``: the expert pool and draws (import/export on the server, verify-draw anywhere)."""

# ruff: noqa: PLC0415 - server modules are imported lazily so `sealbid --help` and the client stay light

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from api.cli_settings import settings_from
from api.client.draw_commands import verify_draw_command

if TYPE_CHECKING:
    from tendering.platform import Platform


def _platform(ctx: click.Context) -> Platform:
    from tendering.platform import build_platform

    return build_platform(settings_from(ctx))


@click.group()
def experts() -> None:
    """Expert pool and verifiable draws."""


@experts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows even if some rows are bad.")
@click.pass_context
def import_pool(ctx: click.Context, file: Path, skip_invalid: bool) -> None:
    """Import experts from a CSV file (UTF-8, BOM allowed); re-importing a row updates it by number.

    Every bad row is reported (row, column, reason); with any bad row nothing is imported unless
    --skip-invalid is given. Exit code 2 when rows were refused.
    """
    from experts.pool_csv import import_csv
    from tendering.errors import SealbidError
    from tendering.identity.audit import Actor

    platform = _platform(ctx)
    try:
        report = import_csv(
            platform, file.read_bytes(), actor=Actor.system("console"), skip_invalid=skip_invalid
        )
    except SealbidError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        platform.close()
    for error in report.errors:
        column = f" [{error.column}]" if error.column else ""
        click.echo(f"row {error.row}{column}: {error.reason}", err=True)
    if report.imported:
        click.echo(
            f"imported {report.rows - report.skipped} of {report.rows} rows: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, {report.skipped} skipped"
        )
    else:
        click.echo(
            f"nothing imported: {len(report.errors)} error(s) (fix them or use --skip-invalid)", err=True
        )
    if report.errors:
        raise SystemExit(2)


@experts.command("export")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
@click.pass_context
def export_pool(ctx: click.Context, output: Path | None) -> None:
    """Export the pool as CSV (UTF-8 with BOM, the import format)."""
    from experts.pool_csv import export_csv
    from tendering.identity.audit import Actor

    platform = _platform(ctx)
    try:
        with platform.session_factory() as session:
            data = export_csv(session, actor=Actor.system("console"))
    finally:
        platform.close()
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output}", err=True)


experts.add_command(verify_draw_command)
