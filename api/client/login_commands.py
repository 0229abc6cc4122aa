"""``sealbid login``: log in to a server with a certificate in a PKCS#12 file.

The private key never leaves this machine: the command asks for a challenge, checks that it was issued
for the server it talks to, signs the canonical challenge bytes locally and sends the signature with
the certificate. Depends only on ``cryptography``, ``httpx`` and ``click``.

``--browser`` hands the login to a web browser: the command asks the server for a single-use sign-in
link (valid 60 seconds) bound to this login and prints it (``--open`` also opens it). Without ``--p12``
it uses the cached login for the server.
"""

from __future__ import annotations

import base64
import os
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from api.client.http import (
    ClientError,
    call,
    default_server,
    load_token,
    make_client,
    normalise_url,
    parse_time,
    save_token,
)

CHALLENGE_TYPE = "sealbid.login-challenge.v1"


@dataclass(frozen=True)
class Credential:
    """A private key with its certificate and chain, from a PKCS#12 file."""

    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def load_credential(path: Path, password: str | None) -> Credential:
    """Open a PKCS#12 file; ClientError in plain words when it cannot be opened."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror}") from None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        raise ClientError(f"cannot open {path}: wrong password, or not a PKCS#12 file") from None
    if cert is None or key is None:
        raise ClientError(f"{path} holds no certificate with its private key")
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ClientError(f"{path}: only EC (P-256) and RSA keys can log in")
    return Credential(key, cert, tuple(extra))


def sign_challenge(credential: Credential, signing_input: bytes) -> tuple[str, bytes]:
    """``(signature_algorithm, signature)``: ECDSA-SHA256 for EC keys, RSA-PSS-SHA256 for RSA keys."""
    key = credential.key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ecdsa-sha256", key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return "rsa-pss-sha256", key.sign(signing_input, pss, hashes.SHA256())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_challenge(challenge: dict[str, Any], *, audience: str) -> bytes:
    """The bytes to sign, after checking the challenge is a login challenge for ``audience``."""
    if challenge.get("type") != CHALLENGE_TYPE or challenge.get("purpose") != "login":
        raise ClientError("the server sent something other than a login challenge; not signing it")
    offered = str(challenge.get("audience", ""))
    try:
        same = normalise_url(offered) == normalise_url(audience)
    except ClientError:
        same = False
    if not same:
        raise ClientError(
            f"the challenge is for {offered!r}, not for {normalise_url(audience)!r}; refusing to sign it "
            "(if the server is known under another address, pass --audience)"
        )
    return bytes(rfc8785.dumps(challenge))


def perform_login(
    client: httpx.Client,
    credential: Credential,
    *,
    audience: str,
    encryption_certificate: x509.Certificate | None = None,
) -> dict[str, Any]:
    """Challenge, sign locally, log in; the server's answer (token, expiry, identity, roles)."""
    issued = call(client, "POST", "/auth/challenge")
    challenge = issued.get("challenge") if isinstance(issued, dict) else None
    if not isinstance(challenge, dict):
        raise ClientError("the server's challenge answer is malformed")
    to_sign = check_challenge(challenge, audience=audience)
    algorithm, signature = sign_challenge(credential, to_sign)
    body: dict[str, Any] = {
        "challenge_id": challenge["id"],
        "certificate": _b64(credential.certificate.public_bytes(Encoding.DER)),
        "chain": [_b64(cert.public_bytes(Encoding.DER)) for cert in credential.chain],
        "signature": _b64(signature),
        "signature_algorithm": algorithm,
    }
    if encryption_certificate is not None:
        body["encryption_certificate"] = _b64(encryption_certificate.public_bytes(Encoding.DER))
    answer = call(client, "POST", "/auth/login", json=body)
    if not isinstance(answer, dict) or "token" not in answer:
        raise ClientError("the server's login answer is malformed")
    return answer


def load_certificate_file(path: Path) -> x509.Certificate:
    """A PEM or DER certificate file."""
    try:
        data = path.read_bytes()
        return (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise ClientError(f"{path} is not a certificate (PEM or DER)") from None


def describe(answer: dict[str, Any], server: str) -> str:
    """What to tell the user after logging in."""
    identity = answer.get("identity") or {}
    kind = "enterprise" if identity.get("kind") == "enterprise" else "person"
    roles = ", ".join(answer.get("roles") or []) or "(none)"
    expires = parse_time(str(answer.get("expires_at", "")))
    until = expires.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if expires else answer.get("expires_at")
    lines = [
        f"Logged in to {normalise_url(server)} as {identity.get('name')}"
        f" ({kind} {identity.get('subject_id')})",
        f"Roles: {roles}",
        f"Token valid until {until}",
    ]
    if answer.get("registered"):
        lines.insert(1, "First login: your organisation is now registered as a tenderer.")
    return "\n".join(lines)


def request_browser_link(client: httpx.Client, token: str, next_path: str | None = None) -> dict[str, Any]:
    """Ask the server for a browser sign-in link for the login holding ``token``."""
    body: dict[str, Any] = {"next": next_path} if next_path else {}
    answer = call(
        client, "POST", "/auth/browser-link", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    if not isinstance(answer, dict) or "url" not in answer:
        raise ClientError("the server's sign-in link answer is malformed")
    return answer


def describe_link(link: dict[str, Any]) -> str:
    """What to tell the user about a browser sign-in link."""
    expires = parse_time(str(link.get("expires_at", "")))
    until = expires.astimezone().strftime("%H:%M:%S %Z") if expires else link.get("expires_at")
    return "\n".join(
        [
            f"Open this link in your browser to sign in there (it works once, until {until}):",
            str(link["url"]),
        ]
    )


@click.command("login")
@click.option("--server", default=default_server, show_default="$SEALBID_SERVER or http://127.0.0.1:8000")
@click.option(
    "--p12",
    "p12",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PKCS#12 file (with --browser, omit it to use the cached login).",
)
@click.option(
    "--password-env", metavar="VAR", help="Read the PKCS#12 password from this environment variable."
)
@click.option(
    "--encryption-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also register this encryption certificate (the other half of a dual pair).",
)
@click.option("--audience", help="The server's public address, when it differs from --server.")
@click.option("--browser", is_flag=True, help="Also print a one-time link that signs a web browser in.")
@click.option("--next", "next_path", metavar="PATH", help="With --browser: the portal page to open.")
@click.option("--open", "open_browser", is_flag=True, help="With --browser: open the link in the browser.")
@click.pass_context
def login(
    ctx: click.Context,
    *,
    server: str,
    p12: Path | None,
    password_env: str | None,
    encryption_cert: Path | None,
    audience: str | None,
    browser: bool,
    next_path: str | None,
    open_browser: bool,
) -> None:
    """Log in with a certificate; the token is cached for later commands."""
    injected = (ctx.obj or {}).get("http_client") if isinstance(ctx.obj, dict) else None
    if (next_path or open_browser) and not browser:
        raise click.UsageError("--next and --open go with --browser")
    if p12 is None:
        if not browser:
            raise click.UsageError("--p12 is required (or --browser, to reuse the cached login)")
        _browser_only(server, injected, next_path, open_browser=open_browser)
        return
    try:
        if password_env:
            password = os.environ.get(password_env)
            if password is None:
                raise ClientError(f"the environment variable {password_env} is not set")
        else:
            password = click.prompt(
                f"Password for {p12.name}", hide_input=True, default="", show_default=False
            )
        credential = load_credential(p12, password or None)
        encryption = load_certificate_file(encryption_cert) if encryption_cert else None
        client = injected or make_client(server)
        try:
            answer = perform_login(
                client, credential, audience=audience or server, encryption_certificate=encryption
            )
            save_token(server, answer)
            link = request_browser_link(client, str(answer["token"]), next_path) if browser else None
        finally:
            if injected is None:
                client.close()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(describe(answer, server))
    if link is not None:
        _hand_to_browser(link, open_browser=open_browser)


def _browser_only(server: str, injected: Any, next_path: str | None, *, open_browser: bool) -> None:
    """``--browser`` without ``--p12``: a sign-in link for the cached login."""
    try:
        record = load_token(server)
        if record is None:
            raise ClientError(
                f"not logged in to {normalise_url(server)} (or the login expired); "
                "run: sealbid login --browser --p12 FILE"
            )
        client = injected or make_client(server)
        try:
            link = request_browser_link(client, str(record["token"]), next_path)
        finally:
            if injected is None:
                client.close()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    _hand_to_browser(link, open_browser=open_browser)


def _hand_to_browser(link: dict[str, Any], *, open_browser: bool) -> None:
    click.echo(describe_link(link))
    if open_browser and not webbrowser.open(str(link["url"])):
        click.echo("Could not open a browser here; open the link above yourself.", err=True)


__all__ = [
    "Credential",
    "describe_link",
    "load_credential",
    "login",
    "perform_login",
    "request_browser_link",
    "sign_challenge",
]
