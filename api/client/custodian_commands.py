"""``sealbid custodian``: the opening-key custodian's tool (runs on a custodian's machine, not the server).

``ceremony`` (the lead custodian, once per tender): fetch the tender's custodians and their
encryption certificates, check and show them, make the opening key, split it k-of-n, seal each share
to its custodian, sign the bundle and upload it. The key is never written anywhere.
``show-share`` (every custodian, right after): fetch one's own encrypted share, decrypt it locally
and check it against its published commitment, without printing it.

Depends only on ``crypto``, ``httpx`` and ``click`` (no database driver, no server stack).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from api.client.http import ClientError, authorised_client, call, default_server, load_token, parse_time
from api.client.login_commands import Credential, load_credential
from crypto.ceremony import (
    MIN_THRESHOLD,
    CeremonyError,
    CustodianRecipient,
    check_share,
    open_share,
    parse_bundle,
    run_ceremony,
)
from crypto.cms import Signer

#: How long after the bid deadline the opening certificate stays valid (the server asks for >= 7 days).
VALIDITY_AFTER_DEADLINE = timedelta(days=60)


def _password(password_env: str | None, p12: Path) -> str | None:
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise ClientError(f"the environment variable {password_env} is not set")
        return password or None
    return click.prompt(f"Password for {p12.name}", hide_input=True, default="", show_default=False) or None


def _tender_path(tender: str, suffix: str) -> str:
    try:
        tender_id = uuid.UUID(tender)
    except ValueError:
        raise ClientError(f"{tender!r} is not a tender id (a UUID)") from None
    return f"/custodian/tenders/{tender_id}/opening-key{suffix}"


def _call(client: httpx.Client, method: str, path: str, tender: str, **kwargs: Any) -> Any:
    """:func:`call`, with the refusals a custodian meets put in its terms."""
    try:
        return call(client, method, path, **kwargs)
    except ClientError as exc:
        text = str(exc)
        if "tender-unknown" in text:
            raise ClientError(
                f"tender {tender} was not found, or you are not one of its custodians"
            ) from None
        if "role-required" in text:
            raise ClientError(
                "you are not logged in as a custodian (log in with your custodian certificate)"
            ) from None
        if "login-required" in text or "token-invalid" in text:
            raise ClientError("your login is no longer valid; run: sealbid login") from None
        raise


def _client(ctx: click.Context, server: str) -> tuple[httpx.Client, bool]:
    injected = (ctx.obj or {}).get("http_client") if isinstance(ctx.obj, dict) else None
    if injected is not None:
        return injected, False
    return authorised_client(server), True


def _b64decode(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise ClientError(f"the server sent a malformed {what}") from None


def _load_ca(paths: Sequence[Path]) -> list[x509.Certificate]:
    certificates: list[x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
            certificates += (
                x509.load_pem_x509_certificates(data)
                if b"-----BEGIN" in data
                else [x509.load_der_x509_certificate(data)]
            )
        except OSError as exc:
            raise ClientError(f"cannot read {path}: {exc.strerror}") from None
        except ValueError:
            raise ClientError(f"{path} holds no certificate (PEM or DER)") from None
    return certificates


def _issued_by_one_of(certificate: x509.Certificate, cas: Sequence[x509.Certificate]) -> bool:
    for ca in cas:
        try:
            certificate.verify_directly_issued_by(ca)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return True
    return False


def checked_recipients(
    plan: dict[str, Any], *, now: datetime, cas: Sequence[x509.Certificate]
) -> list[CustodianRecipient]:
    """The custodians of the server's plan with their encryption certificates, each one checked:
    present, parses, the stated SHA-256, valid now, allows key agreement or key transport, and (with
    ``cas``) issued by one of those CA certificates."""
    recipients = []
    for index, entry in enumerate(plan.get("custodians") or [], start=1):
        name = entry.get("name") or entry.get("identity")
        if entry.get("index") != index:
            raise ClientError("the server listed the custodians out of order; not running the ceremony")
        if not entry.get("encryption_certificate"):
            raise ClientError(
                f"custodian {index} ({name}) has no encryption certificate registered; they must log in once "
                "with: sealbid login --p12 <signing.p12> --encryption-cert <encryption certificate>"
            )
        der = _b64decode(entry["encryption_certificate"], "encryption certificate")
        if hashlib.sha256(der).hexdigest() != entry.get("encryption_certificate_sha256"):
            raise ClientError(f"custodian {index}'s certificate does not match its stated SHA-256")
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            raise ClientError(f"custodian {index}'s encryption certificate is malformed") from None
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise ClientError(f"custodian {index} ({name})'s encryption certificate is not valid now")
        if cas and not _issued_by_one_of(certificate, cas):
            raise ClientError(
                f"custodian {index} ({name})'s encryption certificate is not issued by a CA in --ca"
            )
        recipients.append(CustodianRecipient(index, str(entry.get("identity")), certificate))
    return recipients


def describe_recipients(plan: dict[str, Any], recipients: Sequence[CustodianRecipient]) -> str:
    """What the ceremony is about to encrypt to, one custodian per line."""
    lines = [
        f"Tender {plan['tender']}: {plan.get('title', '')}",
        f"Opening policy: any {plan['threshold']} of {len(recipients)} custodians; "
        f"bid deadline {plan.get('bid_deadline')}",
        "Shares will be encrypted to:",
    ]
    for recipient, entry in zip(recipients, plan["custodians"], strict=True):
        certificate = recipient.encryption_certificate
        lead = " (lead)" if recipient.index == 1 else ""
        lines.append(
            f"  {recipient.index}. {entry.get('name')}{lead}  "
            f"subject {certificate.subject.rfc4514_string()}\n"
            f"     SHA-256 {recipient.certificate_sha256}  valid until "
            f"{certificate.not_valid_after_utc:%Y-%m-%d}"
        )
    return "\n".join(lines)


def _check_lead(server: str, plan: dict[str, Any], credential: Credential, injected: bool) -> None:
    """Refuse early, before making any key, when the caller is not the lead or signs with a stray key."""
    record = None if injected else load_token(server)
    identity = (record or {}).get("identity") or {}
    custodians = plan.get("custodians") or []
    if identity.get("id") and custodians and custodians[0].get("identity") != identity["id"]:
        raise ClientError(
            f"only the lead custodian ({custodians[0].get('name')}) runs the ceremony for this tender"
        )
    fingerprint = hashlib.sha256(credential.certificate.public_bytes(Encoding.DER)).hexdigest()
    registered = {c.get("fingerprint") for c in identity.get("certificates") or []}
    if identity and fingerprint not in registered:
        raise ClientError("the certificate in --p12 is not one you logged in with; log in with it first")


def perform_ceremony(
    client: httpx.Client,
    tender: str,
    credential: Credential,
    *,
    now: datetime,
    cas: Sequence[x509.Certificate],
    confirm: bool,
    check_lead: Any = None,
    save: Path | None = None,
) -> tuple[dict[str, Any], str]:
    """Fetch, check, run, upload; the server's registration and the summary shown beforehand.

    With ``save``, the registered bundle is written there and its signature next to it (``.p7s``):
    the lead custodian's record of what it signed (no secret in either).
    """
    plan = _call(client, "GET", _tender_path(tender, "/custodians"), tender)
    if not isinstance(plan, dict) or str(plan.get("tender")) != str(uuid.UUID(tender)):
        raise ClientError("the server's custodian list is malformed or for another tender")
    if plan.get("registered_certificate_sha256"):
        raise ClientError(
            f"this tender's opening key is already registered (opening certificate SHA-256 "
            f"{plan['registered_certificate_sha256']}); nothing to do"
        )
    state = plan.get("state")
    if state not in ("approved", "published"):
        raise ClientError(
            f"the tender is {state}: the ceremony runs once the authority has approved it and "
            "before the bid deadline"
        )
    if check_lead is not None:
        check_lead(plan)
    threshold = plan.get("threshold")
    if not isinstance(threshold, int) or threshold < MIN_THRESHOLD:
        raise ClientError(f"the tender's threshold is {threshold}; a ceremony needs at least {MIN_THRESHOLD}")
    recipients = checked_recipients(plan, now=now, cas=cas)
    summary = describe_recipients(plan, recipients)
    if confirm:
        click.echo(summary)
        click.confirm("Make the opening key and encrypt its shares to these custodians?", abort=True)
    publication = parse_time(str(plan.get("publication_time"))) or now
    deadline = parse_time(str(plan.get("bid_deadline")))
    if deadline is None:
        raise ClientError("the server sent no bid deadline")
    try:
        signer = Signer(credential.certificate, credential.key, chain=credential.chain)
        output = run_ceremony(
            tender_id=str(plan["tender"]),
            threshold=threshold,
            custodians=recipients,
            lead=signer,
            not_before=min(now, publication) - timedelta(hours=1),
            not_after=deadline + VALIDITY_AFTER_DEADLINE,
            now=now,
        )
    except CeremonyError as exc:
        raise ClientError(f"the ceremony failed: {exc}") from None
    body = {
        "bundle": base64.b64encode(output.bundle).decode("ascii"),
        "signature": base64.b64encode(output.signature).decode("ascii"),
    }
    answer = _call(client, "POST", _tender_path(tender, "/"), tender, json=body)
    bundle = parse_bundle(output.bundle)
    if (
        not isinstance(answer, dict)
        or answer.get("opening_certificate_sha256") != bundle.opening_certificate_sha256
    ):
        raise ClientError("the server registered another opening certificate than this ceremony made")
    if save is not None:
        try:
            save.write_bytes(output.bundle)
            save.with_name(save.name + ".p7s").write_bytes(output.signature)
        except OSError as exc:
            raise ClientError(f"registered, but cannot save the bundle to {save}: {exc.strerror}") from None
    return answer, summary


@click.group()
def custodian() -> None:
    """Opening-key ceremony and share release (runs on a custodian's machine)."""


_SERVER = click.option(
    "--server", default=default_server, show_default="$SEALBID_SERVER or http://127.0.0.1:8000"
)
_TENDER = click.option("--tender", required=True, help="The tender id.")
_PASSWORD = click.option(
    "--password-env", metavar="VAR", help="Read the PKCS#12 password from this variable."
)


@custodian.command("ceremony")
@_SERVER
@_TENDER
@click.option(
    "--p12", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Your SIGNING PKCS#12."
)
@_PASSWORD
@click.option(
    "--ca",
    "ca",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CA certificates (PEM/DER) that must have issued every custodian's encryption certificate.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation after showing the custodians.")
@click.option(
    "--save-bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the registered bundle in this file (and its signature in FILE.p7s) for your records.",
)
@click.pass_context
def ceremony(
    ctx: click.Context,
    *,
    server: str,
    tender: str,
    p12: Path,
    password_env: str | None,
    ca: tuple[Path, ...],
    yes: bool,
    save_bundle: Path | None,
) -> None:
    """Make the tender's opening key, split it to its custodians, and register the signed bundle."""
    try:
        credential = load_credential(p12, _password(password_env, p12))
        cas = _load_ca(ca)
        client, owned = _client(ctx, server)
        try:
            answer, summary = perform_ceremony(
                client, tender, credential, now=datetime.now(UTC), cas=cas, confirm=not yes,
                check_lead=lambda plan: _check_lead(server, plan, credential, not owned),
                save=save_bundle,
            )  # fmt: skip
        finally:
            if owned:
                client.close()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    if yes:
        click.echo(summary)
    click.echo("Opening key registered; the key itself was never written anywhere and is now dropped.")
    click.echo(f"Opening certificate SHA-256: {answer['opening_certificate_sha256']}")
    click.echo(f"Threshold: {answer['threshold']} of {answer['share_count']}")
    for item in answer.get("commitments") or []:
        click.echo(f"  share {item['index']} commitment {item['commitment']}")
    click.echo("Each custodian can now check their share with: sealbid custodian show-share")


def fetch_and_check_share(client: httpx.Client, tender: str, credential: Credential) -> dict[str, Any]:
    """Fetch one's own share, decrypt it locally and check it; the server's answer (no secret)."""
    answer = _call(client, "GET", _tender_path(tender, "/share"), tender)
    if not isinstance(answer, dict):
        raise ClientError("the server's share answer is malformed")
    fingerprint = hashlib.sha256(credential.certificate.public_bytes(Encoding.DER)).hexdigest()
    addressed = answer.get("custodian_certificate_sha256")
    if addressed != fingerprint:
        raise ClientError(
            f"your share is encrypted to the certificate with SHA-256 {addressed}, "
            "not to the one in --p12 (use your ENCRYPTION PKCS#12)"
        )
    opening_der = _b64decode(answer.get("opening_certificate"), "opening certificate")
    if hashlib.sha256(opening_der).hexdigest() != answer.get("opening_certificate_sha256"):
        raise ClientError("the opening certificate does not match its stated SHA-256")
    try:
        share = open_share(
            _b64decode(answer.get("encrypted_share"), "encrypted share"),
            credential.certificate,
            credential.key,
            tender_id=str(uuid.UUID(tender)),
            index=int(answer.get("index", 0)),
            opening_certificate_sha256=str(answer["opening_certificate_sha256"]),
        )
        check_share(share, str(answer.get("commitment")))
    except CeremonyError as exc:
        raise ClientError(str(exc)) from None
    del share
    return answer


@custodian.command("show-share")
@_SERVER
@_TENDER
@click.option(
    "--p12", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Your ENCRYPTION PKCS#12."
)
@_PASSWORD
@click.pass_context
def show_share(ctx: click.Context, *, server: str, tender: str, p12: Path, password_env: str | None) -> None:
    """Decrypt your share locally and check it against its commitment (the share is not printed)."""
    try:
        credential = load_credential(p12, _password(password_env, p12))
        client, owned = _client(ctx, server)
        try:
            answer = fetch_and_check_share(client, tender, credential)
        finally:
            if owned:
                client.close()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Share {answer['index']} of {answer['share_count']} (any {answer['threshold']} open the bids) "
        f"for tender {answer['tender']}: decrypted, matches commitment {answer['commitment']}"
    )
    click.echo(f"Opening certificate SHA-256: {answer['opening_certificate_sha256']}")


__all__ = ["checked_recipients", "custodian", "fetch_and_check_share", "perform_ceremony"]
