"""``sealbid bid submit|withdraw|list`` and ``sealbid receipt verify`` (client side only).

Depends on ``crypto``, ``httpx`` and ``click``: a bidder installs and runs it without the server stack.
``bid submit`` logs in (or reuses the cached login), uploads the sealed file in chunks with a progress
bar - resuming where a dropped upload stopped, from a small state file next to the bid - signs the
submission statement locally and saves the server's receipt next to the file. ``receipt verify``
checks a receipt offline. Protocol and formats: ``docs/submission.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import click
import httpx
from click._termui_impl import ProgressBar
from cryptography import x509

from api.client.bid_commands import CLIENT_NAME, client_version
from api.client.http import (
    ClientError,
    call,
    default_server,
    load_token,
    make_client,
    normalise_url,
    problem_message,
    save_token,
)
from api.client.login_commands import Credential, load_credential, perform_login
from api.client.machine import machine_code
from crypto.cms import Signer, sign_detached
from crypto.identity import identify
from crypto.receipt import (
    SUBMISSION_TYPE,
    WITHDRAWAL_TYPE,
    ReceiptBundle,
    ReceiptError,
    canonical,
    verify_receipt,
)

CHUNK: Final = 4 << 20
OFFSET_TYPE: Final = "application/offset+octet-stream"
#: What to tell a bidder for the refusals it can act on (the server's own words follow).
HINTS: Final[dict[str, str]] = {
    "bid-deadline-passed": "The bid deadline has passed: no bid, change or withdrawal is accepted now.",
    "signer-not-bidder": "Wrong certificate: sign with your organisation's signing certificate (--p12).",
    "signer-certificate-invalid": "Your signing certificate is revoked, expired or not for signing.",
    "envelope-wrong-recipient": "The file is not sealed to this tender: seal it again for this tender.",
    "envelope-not-sealed": "Not a sealed bid: run sealbid bid seal first (plain bids are refused).",
    "documents-not-obtained": "Download the tender documents through the platform before bidding.",
    "opening-key-missing": "The tender's custodians have not registered its opening key yet: try later.",
    "statement-replayed": "That statement was used already: run the command again to sign a new one.",
}


def _password(password_env: str | None, p12: Path) -> str | None:
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise ClientError(f"the environment variable {password_env} is not set")
        return value
    return click.prompt(f"Password for {p12.name}", hide_input=True, default="", show_default=False) or None


def _http(ctx: click.Context, server: str, token: str | None = None) -> tuple[httpx.Client, bool]:
    injected = (ctx.obj or {}).get("http_client") if isinstance(ctx.obj, dict) else None
    if injected is not None:
        if token:
            injected.headers["Authorization"] = f"Bearer {token}"
        return injected, False
    return make_client(server, token=token), True


def _logged_in(ctx: click.Context, server: str, credential: Credential) -> tuple[httpx.Client, bool]:
    """A client with a valid token: the cached one, or a fresh login with ``credential``."""
    record = load_token(server)
    cached_for = ((record or {}).get("identity") or {}).get("subject_id")
    if record is None or cached_for != identify(credential.certificate).identifier:
        client, owned = _http(ctx, server)
        try:
            record = {**perform_login(client, credential, audience=server)}
        finally:
            if owned:
                client.close()
        save_token(server, record)
    return _http(ctx, server, str(record["token"]))


def _explain(exc: ClientError) -> click.ClickException:
    text = str(exc)
    for code, hint in HINTS.items():
        if f"[{code}," in text:
            return click.ClickException(f"{hint}\n  ({text})")
    return click.ClickException(text)


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _state_file(path: Path) -> Path:
    return path.with_name(path.name + ".upload.json")


def _resume_or_start(
    client: httpx.Client, path: Path, *, server: str, tender: str, sha256: str, size: int
) -> tuple[str, int]:
    """The upload id and offset: the saved upload if the server still has it, else a new one."""
    state = _state_file(path)
    try:
        saved = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = None
    if (
        isinstance(saved, dict)
        and saved.get("server") == normalise_url(server)
        and saved.get("tender") == tender
        and saved.get("sha256") == sha256
    ):
        try:
            status = call(client, "GET", f"/bids/uploads/{saved['upload']}")
            return str(saved["upload"]), int(status["offset"])
        except ClientError:
            pass  # expired or finished: start again
    created = call(client, "POST", "/bids/uploads", json={"tender": tender, "size": size, "sha256": sha256})
    state.write_text(
        json.dumps(
            {"server": normalise_url(server), "tender": tender, "sha256": sha256, "upload": created["id"]}
        ),
        encoding="utf-8",
    )
    return str(created["id"]), int(created["offset"])


def _upload(
    client: httpx.Client, path: Path, upload_id: str, *, offset: int, size: int, chunk_size: int
) -> None:
    progress: ProgressBar[int] = click.progressbar(length=size, label="Uploading", file=sys.stderr)
    with path.open("rb") as handle, progress as bar:
        bar.update(offset)
        handle.seek(offset)
        while offset < size:
            data = handle.read(chunk_size)
            try:
                response = client.patch(
                    f"/bids/uploads/{upload_id}",
                    content=data,
                    headers={"Upload-Offset": str(offset), "Content-Type": OFFSET_TYPE},
                )
            except httpx.TransportError:
                raise ClientError(
                    f"the connection to the server dropped after {offset} of {size} bytes; nothing is "
                    "lost: run the same command again later to resume"
                ) from None
            if response.status_code == 409 and response.json().get("code") == "upload-offset-mismatch":
                offset = int(response.json()["offset"])  # the server has more or less: follow it
                handle.seek(offset)
                continue
            if response.status_code != 204:
                raise ClientError(problem_message(response))
            bar.update(int(response.headers["Upload-Offset"]) - offset)
            offset = int(response.headers["Upload-Offset"])
            handle.seek(offset)


def _signer(credential: Credential) -> Signer:
    return Signer(credential.certificate, credential.key, credential.chain)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def submission_statement(
    *, tender: str, lots: list[int], sha256: str, size: int, certificate: x509.Certificate
) -> bytes:
    """The canonical ``sealbid.submission.v1`` statement for a sealed file."""
    return canonical(
        {
            "type": SUBMISSION_TYPE,
            "tender": tender,
            "lots": sorted(lots),
            "envelope_sha256": sha256,
            "envelope_size": size,
            "bidder_uscc": identify(certificate).identifier,
            "nonce": secrets.token_urlsafe(24),
            "client_time": _now(),
            "client": {"name": CLIENT_NAME, "version": client_version()},
            "machine_code": machine_code(tender),
        }
    )


def _signed(statement: bytes, credential: Credential) -> dict[str, str]:
    return {
        "statement": base64.b64encode(statement).decode("ascii"),
        "signature": base64.b64encode(sign_detached(statement, _signer(credential))).decode("ascii"),
    }


def _save_receipt(answer: dict[str, Any], target: Path) -> dict[str, Any]:
    bundle = ReceiptBundle.from_document(answer)
    target.write_bytes(bundle.to_json())
    return bundle.fields()


def add_submission_commands(group: click.Group) -> None:
    """Register the submission commands on the ``bid`` group."""
    group.add_command(submit)
    group.add_command(withdraw)
    group.add_command(list_bids)


_server_option = click.option(
    "--server", default=default_server, show_default="$SEALBID_SERVER or http://127.0.0.1:8000"
)
_p12_option = click.option(
    "--p12",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your organisation's signing certificate (PKCS#12).",
)
_password_option = click.option(
    "--password-env", metavar="VAR", help="Read the PKCS#12 password from this variable."
)


@click.command("submit")
@click.argument("sealed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_server_option
@click.option("--tender", required=True, help="The tender's id.")
@click.option(
    "--lot", "lots", type=int, multiple=True, required=True, help="A lot number (repeat for several)."
)
@_p12_option
@_password_option
@click.option("--chunk-size", type=click.IntRange(1024, 64 << 20), default=CHUNK, show_default=True)
@click.pass_context
def submit(
    ctx: click.Context,
    *,
    sealed: Path,
    server: str,
    tender: str,
    lots: tuple[int, ...],
    p12: Path,
    password_env: str | None,
    chunk_size: int,
) -> None:
    """Upload a sealed bid (resumable), sign the statement, and save the receipt next to the file."""
    try:
        credential = load_credential(p12, _password(password_env, p12))
        sha256, size = _digest(sealed)
        client, owned = _logged_in(ctx, server, credential)
        try:
            upload_id, offset = _resume_or_start(
                client, sealed, server=server, tender=tender, sha256=sha256, size=size
            )
            _upload(client, sealed, upload_id, offset=offset, size=size, chunk_size=chunk_size)
            statement = submission_statement(
                tender=tender, lots=list(lots), sha256=sha256, size=size, certificate=credential.certificate
            )
            answer = call(
                client, "POST", f"/bids/uploads/{upload_id}/finalise", json=_signed(statement, credential)
            )
        except httpx.TransportError:
            raise ClientError(
                "the server cannot be reached; run the same command again later to resume"
            ) from None
        finally:
            if owned:
                client.close()
        fields = _save_receipt(answer, sealed.with_name(sealed.name + ".receipt.json"))
        _state_file(sealed).unlink(missing_ok=True)
    except ClientError as exc:
        raise _explain(exc) from None
    click.echo(
        f"Bid {fields['bid']} version {fields['version']} ({fields['kind']}) received at "
        f"{fields['received_at']}; log entry {fields['log']['index']}. Receipt: {sealed.name}.receipt.json"
    )


@click.command("withdraw")
@click.option("--bid", "bid_id", required=True, help="The id of the bid to withdraw.")
@_server_option
@_p12_option
@_password_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to save the receipt.")
@click.pass_context
def withdraw(
    ctx: click.Context, *, bid_id: str, server: str, p12: Path, password_env: str | None, out: Path | None
) -> None:
    """Withdraw your bid before the deadline (signed); saves the withdrawal receipt."""
    try:
        credential = load_credential(p12, _password(password_env, p12))
        client, owned = _logged_in(ctx, server, credential)
        try:
            current = call(client, "GET", f"/bids/{bid_id}")
            statement = canonical(
                {
                    "type": WITHDRAWAL_TYPE,
                    "tender": current["tender"],
                    "bid": bid_id,
                    "bidder_uscc": identify(credential.certificate).identifier,
                    "nonce": secrets.token_urlsafe(24),
                    "client_time": _now(),
                }
            )
            answer = call(client, "POST", f"/bids/{bid_id}/withdraw", json=_signed(statement, credential))
        finally:
            if owned:
                client.close()
        target = out or Path(f"withdrawal-{bid_id}.receipt.json")
        fields = _save_receipt(answer, target)
    except ClientError as exc:
        raise _explain(exc) from None
    click.echo(f"Bid {bid_id} withdrawn (version {fields['version']}). Receipt: {target}")


@click.command("list")
@_server_option
@click.option("--tender", help="Only bids on this tender.")
@click.option(
    "--p12",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Log in with this certificate if there is no cached login.",
)
@_password_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_bids(
    ctx: click.Context,
    *,
    server: str,
    tender: str | None,
    p12: Path | None,
    password_env: str | None,
    as_json: bool,
) -> None:
    """List your organisation's bids (with the cached login, or --p12)."""
    try:
        record = load_token(server)
        if p12 is not None:
            client, owned = _logged_in(ctx, server, load_credential(p12, _password(password_env, p12)))
        elif record is not None:
            client, owned = _http(ctx, server, str(record["token"]))
        else:
            raise ClientError(
                f"not logged in to {normalise_url(server)} (or the login expired); run: sealbid login"
            )
        try:
            bids = call(client, "GET", "/bids", params={"tender": tender} if tender else None)
        finally:
            if owned:
                client.close()
    except ClientError as exc:
        raise _explain(exc) from None
    if as_json:
        click.echo(json.dumps(bids, indent=2, ensure_ascii=False))
        return
    if not bids:
        click.echo("No bids.")
    for item in bids:
        last = item["versions"][-1] if item["versions"] else {}
        click.echo(
            f"{item['id']}  tender {item['tender']}  lots {item['lots']}  {item['state']}  "
            f"v{item['current_version']}  {last.get('received_at', '')}"
        )


@click.group()
def receipt() -> None:
    """Check bid receipts offline."""


def _log_key(value: str) -> str:
    path = Path(value)
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return value.strip()


@receipt.command("verify")
@click.argument("receipt_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--envelope", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Your sealed file."
)
@click.option(
    "--ca",
    "ca_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA bundle (PEM) that issued the platform's and the TSA's certificates.",
)
@click.option(
    "--log-key", required=True, help="The log's verifier key (text, or a file holding it; GET /log/key)."
)
def verify(receipt_file: Path, envelope: Path | None, ca_file: Path, log_key: str) -> None:
    """Verify a receipt offline: platform signature, time-stamp, log inclusion, checkpoint, envelope."""
    try:
        bundle = ReceiptBundle.from_json(receipt_file.read_bytes())
        ca = x509.load_pem_x509_certificates(ca_file.read_bytes())
        if envelope is not None:
            with envelope.open("rb") as handle:
                verdict = verify_receipt(
                    bundle, ca_certificates=ca, log_key=_log_key(log_key), envelope=handle
                )
        else:
            verdict = verify_receipt(bundle, ca_certificates=ca, log_key=_log_key(log_key))
    except (ReceiptError, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot check {receipt_file.name}: {exc}") from None
    for check in verdict.checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not verdict.ok:
        raise click.ClickException("the receipt does NOT verify")
    fields = verdict.receipt
    click.echo(
        f"Receipt verified: bid {fields['bid']} version {fields['version']} ({fields['kind']}) "
        f"of tender {fields['tender']}."
    )
