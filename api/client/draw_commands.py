"""``sealbid experts verify-draw``: recompute an expert draw from the log and the revealed secret."""

from __future__ import annotations

import uuid

import click
import httpx

from api.client.http import normalise_url
from experts.verify_draw import EXIT_TAMPERED, VerifyError, verify_draw

TIMEOUT = httpx.Timeout(30.0)


@click.command("verify-draw")
@click.option("--server", required=True, help="The sealbid server, e.g. https://sealbid.example.cn")
@click.option("--request", "request_id", required=True, type=click.UUID, help="The extraction request id.")
@click.option("--secret", "secret_hex", default=None, help="The secret as hex (default: the revealed one).")
@click.option("--key", default=None, help="The log's verifier key to pin (default: fetched from the server).")
@click.option("--verbose", "-v", is_flag=True, help="Also list every check that passed.")
def verify_draw_command(
    server: str, request_id: uuid.UUID, secret_hex: str | None, key: str | None, verbose: bool
) -> None:
    """Check a draw: log entries and checkpoints, then recompute the order; prints MATCHES or what differs.

    Exit codes: 0 matches, 1 local problem (not revealed yet, bad arguments), 3 network trouble,
    4 the draw or the log differs from what they committed to, 5 bad server answer.
    """
    try:
        with httpx.Client(base_url=normalise_url(server), timeout=TIMEOUT) as client:
            verdict = verify_draw(client, request_id, secret_hex=secret_hex, key=key)
    except VerifyError as exc:
        click.echo(f"sealbid experts verify-draw: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    if verbose:
        for item in verdict.checked:
            click.echo(f"ok  {item}")
    if verdict.matches:
        click.echo(f"MATCHES: draw {request_id} ({len(verdict.checked)} checks)")
        return
    for item in verdict.differences:
        click.echo(f"DIFFERS  {item}")
    click.echo(f"the draw {request_id} does NOT match what the log committed to", err=True)
    raise SystemExit(EXIT_TAMPERED)
