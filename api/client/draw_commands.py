"""``sealbid experts verify-draw``: recompute an expert draw from the log and the revealed secret.

It prints one of three verdicts: ``MATCHES`` (recomputed from the revealed secret and equal),
``NOT YET REVEALED`` (the log checks passed; the order can be recomputed once the secret is revealed
after the award) or ``DIFFERS`` (every difference, one a line).
"""

from __future__ import annotations

import uuid

import click
import httpx

from api.client.http import normalise_url
from experts.verify_draw import EXIT_TAMPERED, NOT_REVEALED, VerifyError, verify_draw

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
    """Check a draw: log entries and checkpoints, then recompute the order.

    Prints MATCHES, NOT YET REVEALED (the commitment, the eligible-set hash and the seed checkpoint are
    checked; the order can be recomputed after the award) or DIFFERS with what differs.
    Exit codes: 0 matches or not yet revealed (the first word says which), 1 local problem (no draw
    yet, bad arguments), 3 network trouble, 4 the draw or the log differs from what they committed
    to, 5 bad server answer.
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
    if verdict.outcome == NOT_REVEALED:
        click.echo(
            f"NOT YET REVEALED: draw {request_id}: the commitment, the eligible-set hash and the seed "
            f"checkpoint check out ({len(verdict.checked)} checks); the order can be recomputed once "
            "the secret is revealed after the award"
        )
        return
    for item in verdict.differences:
        click.echo(f"DIFFERS  {item}")
    click.echo(f"the draw {request_id} does NOT match what the log committed to", err=True)
    raise SystemExit(EXIT_TAMPERED)
