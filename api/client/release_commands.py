"""``sealbid custodian release``: a custodian releases its share after the opening time (client side only).

The tool fetches the custodian's own encrypted share (the ceremony's ``GET .../opening-key/share``),
decrypts it locally with the custodian's ENCRYPTION PKCS#12, checks it against its commitment, and
sends it with a ``sealbid.share-release.v1`` statement signed by the custodian's SIGNING PKCS#12
(``docs/opening.md``). The share is never written to disk. Safe to repeat: a repeated release is
recorded once (after a server restart mid-opening, releasing again lets the opening resume).

Depends only on ``crypto``, ``httpx`` and ``click``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx
import rfc8785
from cryptography.hazmat.primitives.serialization import Encoding

from api.client.http import ClientError, authorised_client, call, default_server
from api.client.login_commands import Credential, load_credential
from crypto.ceremony import CeremonyError, SharePlaintext, check_share, open_share
from crypto.cms import Signer, sign_detached

RELEASE_TYPE = "sealbid.share-release.v1"


def _password(password_env: str | None, p12: Path) -> str | None:
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise ClientError(f"the environment variable {password_env} is not set")
        return password or None
    return click.prompt(f"Password for {p12.name}", hide_input=True, default="", show_default=False) or None


def _b64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise ClientError(f"the server sent a malformed {what}") from None


def _tender_id(tender: str) -> uuid.UUID:
    try:
        return uuid.UUID(tender)
    except ValueError:
        raise ClientError(f"{tender!r} is not a tender id (a UUID)") from None


def decrypt_own_share(
    client: httpx.Client, tender_id: uuid.UUID, encryption: Credential
) -> tuple[SharePlaintext, dict[str, Any]]:
    """Fetch one's encrypted share, decrypt it with ``encryption`` and check its commitment."""
    answer = call(client, "GET", f"/custodian/tenders/{tender_id}/opening-key/share")
    if not isinstance(answer, dict):
        raise ClientError("the server's share answer is malformed")
    fingerprint = hashlib.sha256(encryption.certificate.public_bytes(Encoding.DER)).hexdigest()
    if answer.get("custodian_certificate_sha256") != fingerprint:
        raise ClientError(
            "your share is encrypted to another certificate than the one in --p12 "
            "(use your ENCRYPTION PKCS#12)"
        )
    try:
        share = open_share(
            _b64(answer.get("encrypted_share"), "encrypted share"),
            encryption.certificate,
            encryption.key,
            tender_id=str(tender_id),
            index=int(answer.get("index", 0)),
            opening_certificate_sha256=str(answer.get("opening_certificate_sha256")),
        )
        check_share(share, str(answer.get("commitment")))
    except CeremonyError as exc:
        raise ClientError(f"your share does not check: {exc}") from None
    return share, answer


def release_statement(tender_id: uuid.UUID, share: SharePlaintext, commitment: str, now: datetime) -> bytes:
    """The canonical ``sealbid.share-release.v1`` statement (it names the commitment, not the share)."""
    return bytes(
        rfc8785.dumps(
            {
                "type": RELEASE_TYPE,
                "tender": str(tender_id),
                "index": share.index,
                "commitment": commitment,
                "opening_certificate_sha256": share.opening_certificate_sha256,
                "nonce": secrets.token_hex(16),
                "client_time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    )


def perform_release(
    client: httpx.Client, tender: str, encryption: Credential, signing: Credential, *, now: datetime
) -> dict[str, Any]:
    """Fetch, decrypt, check, sign and release one's share; the server's answer."""
    tender_id = _tender_id(tender)
    share, answer = decrypt_own_share(client, tender_id, encryption)
    statement = release_statement(tender_id, share, str(answer["commitment"]), now)
    key = signing.key
    signature = sign_detached(statement, Signer(signing.certificate, key, signing.chain))
    body = {
        "statement": base64.b64encode(statement).decode("ascii"),
        "signature": base64.b64encode(signature).decode("ascii"),
        "share": base64.b64encode(share.to_bytes()).decode("ascii"),
    }
    del share
    result = call(client, "POST", f"/custodian/tenders/{tender_id}/opening/release", json=body)
    if not isinstance(result, dict):
        raise ClientError("the server's release answer is malformed")
    return result


def _client(ctx: click.Context, server: str) -> tuple[httpx.Client, bool]:
    injected = (ctx.obj or {}).get("http_client") if isinstance(ctx.obj, dict) else None
    if injected is not None:
        return injected, False
    return authorised_client(server), True


@click.command("release")
@click.option("--server", default=default_server, show_default="$SEALBID_SERVER or http://127.0.0.1:8000")
@click.option("--tender", required=True, help="The tender id.")
@click.option(
    "--p12", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Your ENCRYPTION PKCS#12."
)
@click.option(
    "--sign-p12", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Your SIGNING PKCS#12."
)
@click.option(
    "--password-env", metavar="VAR", help="Read the encryption PKCS#12 password from this variable."
)
@click.option(
    "--sign-password-env", metavar="VAR", help="Read the signing PKCS#12 password from this variable."
)
@click.pass_context
def release(
    ctx: click.Context,
    *,
    server: str,
    tender: str,
    p12: Path,
    sign_p12: Path,
    password_env: str | None,
    sign_password_env: str | None,
) -> None:
    """Release your share of the tender's opening key (only after the bid deadline)."""
    try:
        encryption = load_credential(p12, _password(password_env, p12))
        signing = load_credential(sign_p12, _password(sign_password_env, sign_p12))
        client, owned = _client(ctx, server)
        try:
            answer = perform_release(client, tender, encryption, signing, now=datetime.now(UTC))
        finally:
            if owned:
                client.close()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    held, threshold = answer.get("held", []), answer.get("threshold")
    verb = "released" if answer.get("created") else "released again (already recorded)"
    click.echo(f"Share {answer.get('index')} {verb} for tender {answer.get('tender')}.")
    click.echo(f"Shares held by the server for the opening: {len(held)} of {threshold} needed.")
    if answer.get("opening_started"):
        click.echo("The opening has started.")


def add_release_commands(group: click.Group) -> None:
    """Register the share-release commands on the ``custodian`` group."""
    group.add_command(release)
