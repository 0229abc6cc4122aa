"""The demo's sealed-bid and opening steps, run with the same ``sealbid`` commands a user types.

Step one (sealed bids): the lead custodian runs the key ceremony for the first demo tender (three
custodians, any two open), every custodian checks its share, five tenderers pack, sign, seal (with their
own decryption layer, as the tender asks) and submit bids; one replaces its bid with a lower price, one
withdraws; every receipt is verified offline against the CA bundle and the log's key.

Step two (opening): the sandbox clock passes the deadline, the tender closes itself, two of the three
custodians release their shares, the envelopes open, three bidders decrypt their own layer and one does
not (its bid counts as revoked, Measures Art. 31), the opening record is published, and the monitor checks
the opening from the public log alone.
"""

from __future__ import annotations

import json
import shlex
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.cli import main
from api.client.http import call, problem_message
from api.client.login_commands import load_credential, perform_login
from api.demo_context import DemoContext, DemoFailed
from crypto.receipt import ReceiptBundle

PASSWORD_VARIABLE = "SEALBID_DEMO_P12_PASSWORD"  # noqa: S105 - the name of a variable, not a password
BIDDERS = ("tenderer-1", "tenderer-2", "tenderer-3", "tenderer-4", "tenderer-5")
#: Total prices (yuan) of the first bids; tenderer-2 later replaces its bid with a lower price.
PRICES = ("11980000.00", "12150000.00", "11720000.00", "12300000.00", "11890000.00")
REPLACED_PRICE = "11650000.00"
#: The bidder that withdraws before the deadline and the one that never decrypts its own layer.
WITHDRAWS = "tenderer-5"
SILENT = "tenderer-3"


class _Cli:
    """Runs ``sealbid`` commands in-process as one participant at a time (each with its own token cache)."""

    def __init__(self, context: DemoContext) -> None:
        self._main = main
        self._context = context
        self._runner = CliRunner()

    def __call__(self, who: str, *args: str, show: int = 0) -> str:
        clients = self._context.directory / "clients" / who
        clients.mkdir(parents=True, exist_ok=True)
        env = {
            "SEALBID_CLIENT_STATE_DIR": str(clients),
            "SEALBID_SERVER": self._context.base_url,
            PASSWORD_VARIABLE: self._context.password,
        }
        result = self._runner.invoke(self._main, list(args), env=env)
        output = result.output
        if result.exit_code != 0:
            msg = f"`sealbid {shlex.join(args)}` run by {who} failed ({result.exit_code}): {output.strip()}"
            raise DemoFailed(msg)
        lines = [line for line in output.splitlines() if line.strip() and not line.startswith("Uploading")]
        for line in lines[-show:] if show else ():
            self._context.echo(f"      {line.strip()}")
        return output


def run_cli(context: DemoContext, who: str, *args: str, show: int = 0) -> str:
    """Run ``sealbid <args>`` as participant ``who`` (its own token cache); DemoFailed if it fails."""
    return _Cli(context)(who, *args, show=show)


def _login(cli: _Cli, context: DemoContext, who: str) -> None:
    cli(
        who,
        "login", "--p12", _p12(context, who), "--password-env", PASSWORD_VARIABLE,
        "--audience", context.audience,
    )  # fmt: skip


def _p12(context: DemoContext, name: str, usage: str = "signing") -> str:
    return str(context.participant(name, usage).pkcs12)


def _log_key(context: DemoContext) -> str:
    response = context.client.get("/log/key")
    if response.status_code != 200:
        msg = f"the log's verifier key is not served: {response.status_code}"
        raise DemoFailed(msg)
    return response.text.strip()


def _uscc(context: DemoContext, name: str) -> str:
    return context.participant(name).subject_id


def _pack_and_seal(
    cli: _Cli, context: DemoContext, tender: str, bidder: str, *, price: str, tag: str
) -> Path:
    work = context.directory / "bidders" / bidder / tag
    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    (files / "技术标.txt").write_text(f"{bidder} 施工组织设计（演示）\n", encoding="utf-8")
    (files / "商务标.txt").write_text(f"{bidder} 商务文件与资格证明（演示）\n", encoding="utf-8")
    form = work / "price-form.toml"
    form.write_text(
        f'total_price = "{price}"\ncurrency = "CNY"\nduration_days = 540\n'
        'quality = "合格"\n\n[declared]\nbid_bond = "paid"\nproject_manager = "一级建造师"\n',
        encoding="utf-8",
    )
    package = work / "bid.zip"
    sealed = work / "bid.sealed"
    cli(
        bidder,
        "bid", "pack", "--tender", tender, "--lot", "1", "--uscc", _uscc(context, bidder),
        "--price-form", str(form), "--out", str(package),
        str(files / "技术标.txt"), str(files / "商务标.txt"),
    )  # fmt: skip
    cli(
        bidder,
        "bid", "seal", str(package), "--p12", _p12(context, bidder), "--password-env", PASSWORD_VARIABLE,
        "--server", context.base_url, "--tender", tender,
        "--bidder-layer", "--enc-p12", _p12(context, bidder, "encryption"),
        "--enc-password-env", PASSWORD_VARIABLE, "--out", str(sealed),
    )  # fmt: skip
    return sealed


def _submit(cli: _Cli, context: DemoContext, tender: str, bidder: str, sealed: Path) -> dict[str, Any]:
    cli(
        bidder,
        "bid", "submit", str(sealed), "--tender", tender, "--lot", "1",
        "--p12", _p12(context, bidder), "--password-env", PASSWORD_VARIABLE,
    )  # fmt: skip
    receipt_file = sealed.with_name(sealed.name + ".receipt.json")
    return ReceiptBundle.from_json(receipt_file.read_bytes()).fields()


def _verify_receipt(
    cli: _Cli, context: DemoContext, bidder: str, receipt: Path, envelope: Path | None
) -> None:
    args = [
        "receipt",
        "verify",
        str(receipt),
        "--ca",
        str(context.report.ca_bundle),
        "--log-key",
        _log_key(context),
    ]
    if envelope is not None:
        args += ["--envelope", str(envelope)]
    output = cli(bidder, *args)
    if "Receipt verified" not in output:
        msg = f"{bidder}'s receipt did not verify: {output}"
        raise DemoFailed(msg)


def _bid_id(cli: _Cli, context: DemoContext, tender: str, bidder: str) -> str:
    output = cli(
        bidder, "bid", "list", "--tender", tender, "--p12", _p12(context, bidder),
        "--password-env", PASSWORD_VARIABLE, "--json",
    )  # fmt: skip
    bids = json.loads(output)
    if len(bids) != 1:
        msg = f"{bidder} sees {len(bids)} bids of its own on the tender, expected 1"
        raise DemoFailed(msg)
    return str(bids[0]["id"])


def _ceremony(cli: _Cli, context: DemoContext, tender: str) -> None:
    context.echo("    custodian-1 (lead) logs in and runs the key ceremony on its own machine:")
    for name in ("custodian-1", "custodian-2", "custodian-3"):
        _login(cli, context, name)
    cli(
        "custodian-1",
        "custodian", "ceremony", "--tender", tender, "--p12", _p12(context, "custodian-1"),
        "--password-env", PASSWORD_VARIABLE, "--ca", str(context.report.ca_bundle), "--yes",
        show=4,
    )  # fmt: skip
    for name in ("custodian-1", "custodian-2", "custodian-3"):
        output = cli(
            name,
            "custodian", "show-share", "--tender", tender, "--p12", _p12(context, name, "encryption"),
            "--password-env", PASSWORD_VARIABLE,
        )  # fmt: skip
        context.echo(f"    {name} decrypted its own share locally: {' '.join(output.split()[-8:])}")


def _obtain_documents(context: DemoContext, tender: str, bidder: str) -> None:
    """The bidder downloads the tender documents through the platform (required before bidding)."""
    answer = perform_login(
        context.client,
        load_credential(context.participant(bidder).pkcs12, context.password),
        audience=context.audience,
    )
    headers = {"Authorization": f"Bearer {answer['token']}"}
    detail = call(context.client, "GET", f"/public/tenders/{tender}")
    for document in detail.get("documents", []):
        response = context.client.get(
            f"/tenders/{tender}/documents/{document['id']}/download", headers=headers
        )
        if response.status_code != HTTPStatus.OK:
            raise DemoFailed(f"{bidder} could not obtain the documents: {problem_message(response)}")


def _sealed_bids(cli: _Cli, context: DemoContext, tender: str) -> dict[str, Any]:
    sealed: dict[str, Path] = {}
    for bidder in BIDDERS:
        _obtain_documents(context, tender, bidder)
    context.echo(f"    {len(BIDDERS)} tenderers obtained the tender documents (recorded, confidential)")
    receipts: dict[str, Path] = {}
    for bidder, price in zip(BIDDERS, PRICES, strict=True):
        sealed[bidder] = _pack_and_seal(cli, context, tender, bidder, price=price, tag="v1")
        receipt = _submit(cli, context, tender, bidder, sealed[bidder])
        receipts[bidder] = sealed[bidder].with_name(sealed[bidder].name + ".receipt.json")
        context.echo(
            f"    {bidder}: packed, signed, sealed (own layer + opening certificate), submitted "
            f"{price} CNY; receipt: log entry {receipt['log']['index']}, bidder blinded"
        )
    replaced = _pack_and_seal(cli, context, tender, "tenderer-2", price=REPLACED_PRICE, tag="v2")
    _submit(cli, context, tender, "tenderer-2", replaced)
    sealed["tenderer-2"] = replaced
    receipts["tenderer-2 (replacement)"] = replaced.with_name(replaced.name + ".receipt.json")
    context.echo(f"    tenderer-2 replaced its bid before the deadline: now {REPLACED_PRICE} CNY (version 2)")
    bid = _bid_id(cli, context, tender, WITHDRAWS)
    withdrawal = context.directory / "bidders" / WITHDRAWS / "withdrawal.receipt.json"
    cli(
        WITHDRAWS,
        "bid", "withdraw", "--bid", bid, "--p12", _p12(context, WITHDRAWS),
        "--password-env", PASSWORD_VARIABLE, "--out", str(withdrawal),
    )  # fmt: skip
    receipts[f"{WITHDRAWS} (withdrawal)"] = withdrawal
    context.echo(f"    {WITHDRAWS} withdrew its bid before the deadline (a signed, logged new version)")
    for label, path in receipts.items():
        bidder = label.split(" ")[0]
        envelope = None if "withdrawal" in label else sealed[bidder] if "replacement" in label else None
        if envelope is None and "(" not in label:
            envelope = path.with_name(path.name.removesuffix(".receipt.json"))
        _verify_receipt(cli, context, bidder, path, envelope)
    context.echo(
        f"    {len(receipts)} receipts verified offline (platform signature, RFC 3161 time-stamp, "
        "log inclusion proof, signed checkpoint, envelope hash)"
    )
    return {"receipts": len(receipts), "standing": len(BIDDERS) - 1}


def _opening(cli: _Cli, context: DemoContext, tender: str) -> dict[str, Any]:
    context.skip(timedelta(days=21, minutes=5), "the bid deadline passes")
    progress = context.client.get(f"/public/tenders/{tender}/opening").json()
    context.echo(
        f"    the tender closed itself at the deadline: {json.dumps(progress, ensure_ascii=False)[:200]}"
    )
    for name in ("custodian-1", "custodian-2"):
        _login(cli, context, name)  # the login before the deadline has long expired
        cli(
            name,
            "custodian", "release", "--tender", tender, "--p12", _p12(context, name, "encryption"),
            "--sign-p12", _p12(context, name), "--password-env", PASSWORD_VARIABLE,
            "--sign-password-env", PASSWORD_VARIABLE,
            show=1,
        )  # fmt: skip
        context.settle()
    for bidder in BIDDERS:
        if bidder in (WITHDRAWS, SILENT):
            continue
        _login(cli, context, bidder)
        cli(
            bidder,
            "bid", "decrypt", "--tender", tender, "--enc-p12", _p12(context, bidder, "encryption"),
            "--p12", _p12(context, bidder), "--enc-password-env", PASSWORD_VARIABLE,
            "--password-env", PASSWORD_VARIABLE,
            show=1,
        )  # fmt: skip
    context.echo(f"    {SILENT} does not decrypt its own layer")
    context.skip(timedelta(hours=2), "the bidders' decryption window closes")
    record = context.client.get(f"/public/tenders/{tender}/opening-record")
    if record.status_code != 200:
        msg = f"the opening record is not published: {record.status_code} {record.text[:300]}"
        raise DemoFailed(msg)
    document = record.json()
    outcomes: dict[str, str] = {}
    for entry in document.get("bids", []):
        name = str(entry["bidder"]["name"])
        outcomes[name] = str(entry["outcome"])
        prices = ", ".join(
            f"{lot['price']['amount']} {lot['price']['currency']}, {lot['duration_days']} days"
            for lot in entry.get("lots", [])
        )
        context.echo(
            f"      {name}: {entry['outcome']}{' — ' + prices if prices else ''} ({entry['reason']})"
        )
    output = cli("monitor", "opening", "verify", "--tender", tender, show=3)
    return {"record": document, "outcomes": outcomes, "verify": output}


def run_bid_steps(context: DemoContext, *, first_step: int, steps: int) -> None:
    """Key ceremony, five sealed bids with receipts, then the opening (``first_step`` and the next)."""
    cli = _Cli(context)
    tender = context.result.tenders[0]
    context.echo(
        f"[{first_step}/{steps}] Sealed bids: key ceremony (2 of 3 custodians), five bidders, "
        "a replacement, a withdrawal, receipts:"
    )
    _ceremony(cli, context, tender)
    context.result.bids.update(_sealed_bids(cli, context, tender))
    context.echo(
        f"[{first_step + 1}/{steps}] Opening: the deadline passes, custodians release, envelopes open, "
        "bidders decrypt their own layer, the record is published:"
    )
    context.result.bids.update(_opening(cli, context, tender))
