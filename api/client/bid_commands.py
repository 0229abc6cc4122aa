"""``sealbid bid``: the bidder's tool (pack, seal, inspect, verify-package; submission commands are
added by submit_commands).

Client side only: depends on ``crypto``, ``httpx`` and ``click``, never on the server stack. The
formats are in ``docs/bid-format.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import click
import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from api.client.http import ClientError, make_client
from api.client.login_commands import load_certificate_file, load_credential
from api.client.machine import machine_code
from crypto.bidpackage import (
    BidSealError,
    ClientInfo,
    Manifest,
    PackageError,
    PackageFile,
    build_package,
    price_forms_from_input,
    seal_bid,
    verify_package,
)
from crypto.bidpackage.prices import read_price_form_file
from crypto.ceremony import CeremonyError, check_opening_certificate
from crypto.cms import CmsError, PyhankoTimeStamper, Signer, peek_envelope

CLIENT_NAME = "sealbid"
_KINDS = {"kari": "ECDH key agreement", "ktri": "RSA key transport"}


@click.group()
def bid() -> None:
    """Prepare, seal and submit bids (runs on the bidder's machine)."""


def client_version() -> str:
    """The installed sealbid version (written into every manifest)."""
    try:
        return importlib.metadata.version("sealbid")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _atomic_output(path: Path, *, force: bool) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file renamed into place only on success."""
    if path.exists() and not force:
        raise ClientError(f"{path} already exists (use --force to replace it)")
    directory = path.resolve().parent
    if not directory.is_dir():
        raise ClientError(f"the folder {directory} does not exist")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        Path(name).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(name).unlink()
        raise


def _fail(exc: Exception) -> click.ClickException:
    code = getattr(exc, "code", None)
    return click.ClickException(f"{exc} [{code}]" if code else str(exc))


def collect_files(paths: tuple[Path, ...]) -> list[PackageFile]:
    """Files named on the command line: a file keeps its name, a folder contributes its files as
    ``<folder>/<relative path>``."""
    files: list[PackageFile] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file())
            files.extend(PackageFile(f"{path.name}/{p.relative_to(path).as_posix()}", p) for p in inside)
        elif path.is_file():
            files.append(PackageFile(path.name, path))
        else:
            raise ClientError(f"{path} is neither a file nor a folder")
    return files


def describe_manifest(manifest: Manifest) -> list[str]:
    """The manifest summary shown after pack and verify-package."""
    lines = [
        f"  Tender:       {manifest.tender_id}",
        f"  Lots:         {', '.join(manifest.lot_ids) or '(none)'}",
        f"  Bidder USCC:  {manifest.bidder_uscc}",
    ]
    for form in manifest.prices:
        label = f"Lot {form.lot_id}" if form.lot_id is not None else "Price"
        declared = f", {len(form.declared)} declared field(s)" if form.declared else ""
        lines.append(
            f"  {label + ':':<13} {format(form.total_price, 'f')} {form.currency}, "
            f"{form.duration_days} days, quality: {form.quality}{declared}"
        )
    total = sum(f.size for f in manifest.files)
    lines.append(f"  Files:        {len(manifest.files)} ({_size(total)})")
    lines += [f"    {f.name}  {_size(f.size)}  sha256 {f.sha256[:16]}..." for f in manifest.files]
    lines += [
        f"  Created:      {manifest.created_at:%Y-%m-%d %H:%M:%S} UTC by {manifest.client.name} "
        f"{manifest.client.version}",
        f"  Machine code: {manifest.machine_code[:16]}... (salted with the tender id)",
    ]
    return lines


@bid.command("pack")
@click.option("--tender", "tender_id", required=True, help="The tender id.")
@click.option("--lot", "lots", multiple=True, help="A lot id (repeat for several lots).")
@click.option("--uscc", required=True, help="Your organisation's unified social credit code.")
@click.option(
    "--price-form",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Price form (.toml or .json): total_price, currency, duration_days, quality, [declared].",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The ZIP to write."
)
@click.option("--stored", is_flag=True, help="Store files uncompressed (faster for PDFs and images).")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def pack(
    *,
    tender_id: str,
    lots: tuple[str, ...],
    uscc: str,
    price_form: Path,
    out: Path,
    stored: bool,
    force: bool,
    files: tuple[Path, ...],
) -> None:
    """Build a bid package (ZIP with a signed-to-be manifest) from FILES and a price form."""
    try:
        prices = price_forms_from_input(read_price_form_file(price_form), list(lots))
        with _atomic_output(out, force=force) as sink:
            manifest = build_package(
                sink,
                collect_files(files),
                tender_id=tender_id,
                lot_ids=list(lots),
                bidder_uscc=uscc.strip().upper(),
                prices=prices,
                machine_code=machine_code(tender_id),
                client=ClientInfo(CLIENT_NAME, client_version()),
                created_at=datetime.now(UTC),
                compression="stored" if stored else "deflated",
            )
    except (ClientError, PackageError) as exc:
        raise _fail(exc) from None
    click.echo(f"Bid package written to {out}")
    click.echo("\n".join(describe_manifest(manifest)))
    click.echo(f"  SHA-256:      {_sha256_file(out)}")
    click.echo(f"Next: sealbid bid seal {out} --p12 <signing.p12> ...")


@bid.command("verify-package")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_package_command(*, package: Path) -> None:
    """Check a bid package completely (names, sizes, hashes, manifest, prices) and summarise it."""
    try:
        manifest = verify_package(package)
    except PackageError as exc:
        raise click.ClickException(f"{package} is not a valid bid package: {exc} [{exc.code}]") from None
    click.echo(f"{package} is a valid bid package")
    click.echo("\n".join(describe_manifest(manifest)))
    click.echo(f"  SHA-256:      {_sha256_file(package)}")


def _password(variable: str | None, what: str) -> str | None:
    if variable:
        value = os.environ.get(variable)
        if value is None:
            raise ClientError(f"the environment variable {variable} is not set")
        return value
    return str(click.prompt(f"Password for {what}", hide_input=True, default="", show_default=False)) or None


def fetch_opening_certificate(client: httpx.Client, tender_id: str) -> x509.Certificate:
    """The tender's opening certificate (public: ``GET /public/tenders/{id}/opening-certificate``)."""
    try:
        response = client.get(f"/public/tenders/{tender_id}/opening-certificate", params={"format": "der"})
    except httpx.HTTPError as exc:
        raise ClientError(f"cannot reach the server at {client.base_url}: {exc}") from None
    if response.status_code == 404:
        raise ClientError(
            f"tender {tender_id} has no opening certificate on {client.base_url} yet (not published, "
            "or the custodians' key ceremony has not run); bids cannot be sealed before that"
        )
    if response.status_code >= 400:
        raise ClientError(f"the server answered {response.status_code} for the opening certificate")
    try:
        return x509.load_der_x509_certificate(response.content)
    except ValueError:
        raise ClientError("the server's opening certificate is not a DER certificate") from None


def _encryption_from_p12(path: Path | None, password_env: str | None) -> x509.Certificate:
    assert path is not None
    return load_credential(path, _password(password_env, path.name)).certificate


def _opening_certificate(
    ctx: click.Context, opening_cert: Path | None, server: str | None, tender_id: str
) -> x509.Certificate:
    if opening_cert is not None:
        return load_certificate_file(opening_cert)
    assert server is not None
    injected = (ctx.obj or {}).get("http_client") if isinstance(ctx.obj, dict) else None
    client = injected or make_client(server)
    try:
        certificate = fetch_opening_certificate(client, tender_id)
    finally:
        if injected is None:
            client.close()
    try:
        check_opening_certificate(certificate, tender_id)
    except CeremonyError as exc:
        raise ClientError(f"the server's opening certificate is not usable: {exc}") from None
    return certificate


def _warn_if_outside(certificate: x509.Certificate) -> None:
    start, end, now = certificate.not_valid_before_utc, certificate.not_valid_after_utc, datetime.now(UTC)
    if not start <= now <= end:
        click.echo(
            f"Warning: by this computer's clock ({now:%Y-%m-%d %H:%M} UTC) the opening certificate is not "
            f"valid (it is valid {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC). Check the clock; "
            "the server accepts bids only before the deadline by its own clock.",
            err=True,
        )


def _timestamper(url: str | None) -> PyhankoTimeStamper | None:
    if not url:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return PyhankoTimeStamper(HTTPTimeStamper(url, timeout=30))


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


@bid.command("seal")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--p12", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Signing PKCS#12."
)
@click.option("--password-env", metavar="VAR", help="Read the signing PKCS#12 password from this variable.")
@click.option(
    "--opening-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The tender's opening certificate (PEM or DER).",
)
@click.option("--server", help="Fetch the opening certificate from this sealbid server instead.")
@click.option("--tender", "tender_id", help="The tender id (default: the package's).")
@click.option("--bidder-layer", is_flag=True, help="Also encrypt to your own encryption certificate.")
@click.option("--enc-p12", type=click.Path(dir_okay=False, path_type=Path), help="Encryption PKCS#12.")
@click.option("--enc-password-env", metavar="VAR", help="Password variable for --enc-p12.")
@click.option("--enc-cert", type=click.Path(dir_okay=False, path_type=Path), help="Encryption certificate.")
@click.option("--tsa", metavar="URL", help="Add an RFC 3161 signature time-stamp from this TSA.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The envelope to write."
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.pass_context
def seal(ctx: click.Context, /, **options: Any) -> None:
    """Sign PACKAGE and seal it to the tender's opening certificate (optionally to yourself too)."""
    try:
        _seal(ctx, **options)
    except (ClientError, PackageError, BidSealError, CmsError) as exc:
        raise _fail(exc) from None


def _seal(
    ctx: click.Context,
    *,
    package: Path,
    p12: Path,
    password_env: str | None,
    opening_cert: Path | None,
    server: str | None,
    tender_id: str | None,
    bidder_layer: bool,
    enc_p12: Path | None,
    enc_password_env: str | None,
    enc_cert: Path | None,
    tsa: str | None,
    out: Path,
    force: bool,
) -> None:
    if (opening_cert is None) == (server is None):
        raise ClientError("give either --opening-cert FILE or --server URL")
    if bidder_layer and (enc_p12 is None) == (enc_cert is None):
        raise ClientError(
            "--bidder-layer needs your encryption certificate: --enc-p12 FILE or --enc-cert FILE"
        )
    manifest = verify_package(package)
    if tender_id and tender_id != manifest.tender_id:
        raise ClientError(f"the package is for tender {manifest.tender_id}, not {tender_id}")
    credential = load_credential(p12, _password(password_env, p12.name))
    encryption: x509.Certificate | None = None
    if bidder_layer:
        encryption = (
            load_certificate_file(enc_cert)
            if enc_cert is not None
            else _encryption_from_p12(enc_p12, enc_password_env)
        )
    certificate = _opening_certificate(ctx, opening_cert, server, manifest.tender_id)
    _warn_if_outside(certificate)
    signer = Signer(credential.certificate, credential.key, credential.chain)
    with _atomic_output(out, force=force) as sink:
        sealed = seal_bid(
            package,
            sink,
            signer,
            opening_certificate=certificate,
            bidder_encryption_certificate=encryption,
            timestamper=_timestamper(tsa),
        )
    click.echo(f"Sealed bid written to {out}")
    click.echo(f"  Tender:       {manifest.tender_id}  bidder {manifest.bidder_uscc}")
    click.echo(f"  Signed by:    {credential.certificate.subject.rfc4514_string()}")
    click.echo(f"  Time-stamp:   {'from ' + tsa if tsa else 'none'}")
    click.echo(f"  Bidder layer: {'yes' if sealed.bidder_layer else 'no'}")
    click.echo(f"  Sealed to:    opening certificate sha256 {_fingerprint(certificate)}")
    click.echo(f"  Size:         {sealed.envelope_size} bytes")
    click.echo(f"  SHA-256:      {sealed.envelope_sha256}")


@bid.command("inspect")
@click.argument("envelope", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--opening-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also check that the envelope is addressed to this opening certificate.",
)
def inspect(*, envelope: Path, opening_cert: Path | None) -> None:
    """Show what a sealed bid is, without any key: type, recipients, size, SHA-256."""
    try:
        with envelope.open("rb") as f:
            info = peek_envelope(f)
        certificate = load_certificate_file(opening_cert) if opening_cert else None
    except CmsError as exc:
        raise click.ClickException(f"{envelope} is not a sealed bid (CMS AuthEnvelopedData): {exc}") from None
    except ClientError as exc:
        raise _fail(exc) from None
    lines = [
        f"{envelope}: CMS AuthEnvelopedData (sealed)",
        f"  Encryption:   {info.content_encryption_algorithm} ({info.key_size * 8}-bit key)",
        f"  Content:      {info.content_size} bytes encrypted",
        f"  Size:         {envelope.stat().st_size} bytes",
        f"  SHA-256:      {_sha256_file(envelope)}",
        f"  Recipients:   {len(info.recipients)}",
    ]
    for r in info.recipients:
        who = f"issuer {r.issuer}, serial {r.serial_number:x}" if r.serial_number is not None else ""
        if r.subject_key_identifier is not None:
            who = f"subject key id {r.subject_key_identifier.hex()}"
        lines.append(f"    {_KINDS.get(r.kind, r.kind)}: {who}")
    click.echo("\n".join(lines))
    if certificate is not None:
        if not info.is_addressed_to(certificate):
            raise click.ClickException("the envelope is NOT addressed to the given opening certificate")
        click.echo("  Addressed to the given opening certificate: yes")


__all__ = [
    "CLIENT_NAME",
    "bid",
    "client_version",
    "collect_files",
    "describe_manifest",
    "fetch_opening_certificate",
]
