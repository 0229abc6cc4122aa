"""``sealbid log verify``: check a platform's transparency log for forks and rewritten history.

Depends only on ``crypto``, ``httpx`` and ``click``. Exit codes: 0 verified; 1 a local problem (bad
arguments, damaged state, a key that differs from the pinned one); 3 the server could not be reached
or failed, try again; 4 evidence of tampering (bad signature, fork, rewritten or missing entries);
5 the server answered something that is not the log API.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import httpx

from api.client.logmonitor import FULL_REHASH_LIMIT, TIMEOUT, verify_log
from api.client.logstate import EXIT_LOCAL, MonitorError, StateFiles, default_state_file, normalise_url


@click.group()
def log() -> None:
    """Transparency log commands (no login needed)."""


@log.command("verify")
@click.option(
    "--server",
    default=lambda: os.environ.get("SEALBID_SERVER", "http://127.0.0.1:8000"),
    show_default="$SEALBID_SERVER or http://127.0.0.1:8000",
    help="Base URL of the sealbid platform.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State file (default: one per server under $SEALBID_CLIENT_STATE_DIR or ~/.local/state/sealbid).",
)
@click.option("--key", help="The log's verifier key text (default: pinned, or trusted on first use).")
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with the verifier key.",
)
@click.option(
    "--full/--incremental",
    default=None,
    help="Re-hash every entry from 0, or only the new ones "
    f"(default: every entry while the log has at most {FULL_REHASH_LIMIT:,}).",
)
def verify(
    server: str, state_file: Path | None, key: str | None, key_file: Path | None, full: bool | None
) -> None:
    """Verify the log: signature, consistency with the last run, and the re-hashed entries.

    Exit codes: 0 ok, 1 local problem, 3 network trouble, 4 evidence of tampering, 5 bad server answer.
    """
    if key and key_file:
        raise click.UsageError("give --key or --key-file, not both")
    key_text = key_file.read_text(encoding="utf-8").strip() if key_file else key
    try:
        base = normalise_url(server)
        files = StateFiles(state_file or default_state_file(base))
        with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
            report = verify_log(client, base, files, key=key_text, full=full)
    except MonitorError as exc:
        click.echo(f"sealbid log verify: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    except OSError as exc:
        click.echo(f"sealbid log verify: cannot use the state file: {exc}", err=True)
        raise SystemExit(EXIT_LOCAL) from None
    for line in report.lines():
        click.echo(line)
    click.echo(f"state saved in {files.path}")
