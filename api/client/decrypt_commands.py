"""``sealbid bid decrypt``: a bidder decrypts its own layer during the opening (client side only).

When a tender asks bidders to decrypt their own bids at the opening (Measures Art. 30), the tool
downloads the bidder's own middle layer (an AuthEnvelopedData sealed to the bidder's encryption
certificate), unwraps its content-encryption key with the bidder's ENCRYPTION PKCS#12, checks locally
that the key opens the layer, and sends only that key with a ``sealbid.bidder-decryption.v1`` statement
signed by the bidder's SIGNING PKCS#12. The private key never leaves the bidder's machine; the key sent
opens this one layer and nothing else, and the platform decrypts the layer itself, so the plaintext is
provably what was sealed before the deadline (``docs/opening.md``).

Depends only on ``crypto``, ``httpx`` and ``click``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx
import rfc8785

from api.client.http import ClientError, authorised_client, call, default_server, problem_message
from api.client.login_commands import Credential, load_credential
from crypto.bidpackage import certificate_uscc
from crypto.cms import CmsError, Signer, open_envelope, sign_detached
from crypto.cms.der import as_stream
from crypto.cms.envelope_reader import _read_head
from crypto.cms.recipients import unwrap_cek
from crypto.cms.stream import BerReader

DECRYPTION_TYPE = "sealbid.bidder-decryption.v1"
MAX_LAYER = 8 << 30


def _password(password_env: str | None, p12: Path) -> str | None:
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise ClientError(f"the environment variable {password_env} is not set")
        return password or None
    return click.prompt(f"Password for {p12.name}", hide_input=True, default="", show_default=False) or None


def layer_key(layer: Path, encryption: Credential) -> bytes:
    """The content-encryption key of ``layer`` for ``encryption``, checked by opening the layer locally."""
    try:
        with layer.open("rb") as source:
            head = _read_head(BerReader(as_stream(source), None))
            key = unwrap_cek(head.infos, encryption.certificate, encryption.key, key_size=head.key_size)
        with layer.open("rb") as source, Path(os.devnull).open("wb") as sink:
            open_envelope(source, sink, encryption.certificate, encryption.key)
    except CmsError as exc:
        raise ClientError(f"your encryption key does not open your layer: {exc}") from None
    return key


def _download(client: httpx.Client, tender_id: uuid.UUID, destination: Path) -> str:
    digest = hashlib.sha256()
    with (
        destination.open("wb") as out,
        client.stream("GET", f"/bids/tenders/{tender_id}/opening/layer") as reply,
    ):
        if reply.status_code >= 400:
            reply.read()
            raise ClientError(problem_message(reply))
        size = 0
        for chunk in reply.iter_bytes():
            size += len(chunk)
            if size > MAX_LAYER:
                raise ClientError("the server sent more than any layer can be")
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def decryption_statement(tender_id: uuid.UUID, uscc: str, middle_sha256: str, now: datetime) -> bytes:
    """The canonical ``sealbid.bidder-decryption.v1`` statement."""
    return bytes(
        rfc8785.dumps(
            {
                "type": DECRYPTION_TYPE,
                "tender": str(tender_id),
                "bidder_uscc": uscc,
                "middle_sha256": middle_sha256,
                "nonce": secrets.token_hex(16),
                "client_time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    )


def perform_decrypt(
    client: httpx.Client, tender: str, encryption: Credential, signing: Credential, *, now: datetime
) -> dict[str, Any]:
    """Download one's layer, unwrap and check its key, send the key signed; the server's answer."""
    try:
        tender_id = uuid.UUID(tender)
    except ValueError:
        raise ClientError(f"{tender!r} is not a tender id (a UUID)") from None
    uscc = certificate_uscc(signing.certificate)
    if uscc is None:
        raise ClientError("--p12 must be your organisation's SIGNING PKCS#12 (an enterprise certificate)")
    with tempfile.TemporaryDirectory() as scratch:
        layer = Path(scratch) / "layer.p7m"
        middle_sha256 = _download(client, tender_id, layer)
        key = layer_key(layer, encryption)
    statement = decryption_statement(tender_id, uscc, middle_sha256, now)
    signature = sign_detached(statement, Signer(signing.certificate, signing.key, signing.chain))
    body = {
        "statement": base64.b64encode(statement).decode("ascii"),
        "signature": base64.b64encode(signature).decode("ascii"),
        "key": base64.b64encode(key).decode("ascii"),
    }
    answer = call(client, "POST", f"/bids/tenders/{tender_id}/opening/layer-key", json=body)
    if not isinstance(answer, dict):
        raise ClientError("the server's answer is malformed")
    return answer


def _client(ctx: click.Context, server: str) -> tuple[httpx.Client, bool]:
    injected = (ctx.obj or {}).get("http_client") if isinstance(ctx.obj, dict) else None
    if injected is not None:
        return injected, False
    return authorised_client(server), True


@click.command("decrypt")
@click.option("--server", default=default_server, show_default="$SEALBID_SERVER or http://127.0.0.1:8000")
@click.option("--tender", required=True, help="The tender id.")
@click.option(
    "--enc-p12",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your ENCRYPTION PKCS#12.",
)
@click.option(
    "--p12", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Your SIGNING PKCS#12."
)
@click.option(
    "--enc-password-env", metavar="VAR", help="Read the encryption PKCS#12 password from this variable."
)
@click.option("--password-env", metavar="VAR", help="Read the signing PKCS#12 password from this variable.")
@click.pass_context
def decrypt(
    ctx: click.Context,
    *,
    server: str,
    tender: str,
    enc_p12: Path,
    p12: Path,
    enc_password_env: str | None,
    password_env: str | None,
) -> None:
    """Decrypt your own layer of your bid during the opening's decryption window."""
    try:
        encryption = load_credential(enc_p12, _password(enc_password_env, enc_p12))
        signing = load_credential(p12, _password(password_env, p12))
        client, owned = _client(ctx, server)
        try:
            answer = perform_decrypt(client, tender, encryption, signing, now=datetime.now(UTC))
        finally:
            if owned:
                client.close()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Your layer is decrypted; the outcome of your bid: {answer.get('outcome')}")


def add_decrypt_commands(group: click.Group) -> None:
    """Register the bidder-decryption commands on the ``bid`` group."""
    group.add_command(decrypt)
