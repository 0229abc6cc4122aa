"""``sealbid demo``: everything that exists, end to end, on the embedded default.

It makes a fresh demo state directory, migrates the SQLite database, makes the development PKI at run
time, serves the app on a loopback port with in-process tasks, logs every demo participant in with
its certificate, shows refusals, and runs the monitor's log verification, including the detection of
a rewrite made directly in the database. Each step says what it did.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select, update

from api.app import create_app
from api.client.http import ClientError
from api.client.login_commands import load_credential, perform_login
from api.client.logmonitor import verify_log
from api.client.logstate import MonitorError, StateFiles, TamperEvidence
from api.demo_bids import run_bid_steps
from api.demo_context import DemoContext, DemoFailed, DemoResult
from api.demo_experts import run_expert_steps
from api.demo_tenders import publish_demo_tenders
from api.local_server import free_port, serve_in_thread
from api.logging import configure_logging
from tendering.clock import SkippingClock
from tendering.identity.devpki import DEMO_PASSWORD, DevPkiReport, init_dev_pki
from tendering.migrations import upgrade
from tendering.platform import Platform, build_platform
from tendering.settings import load_settings
from tendering.translog.models import LogEntry

MARKER = ".sealbid-demo"
Echo = Callable[[str], None]
#: Steps, numbered as the demo prints them.
STEPS = 10

__all__ = ["DemoFailed", "DemoResult", "run_demo"]


def _fresh_directory(directory: Path) -> None:
    if directory.exists():
        if not (directory / MARKER).exists():
            msg = f"{directory} exists and is not a sealbid demo directory; choose another --dir"
            raise DemoFailed(msg)
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by `sealbid demo`; deleted by the next run\n")


def _login_everyone(
    client: httpx.Client, audience: str, report: DevPkiReport, result: DemoResult, echo: Echo
) -> None:
    for participant in report.participants:
        if participant.usage not in ("signing", "both"):
            continue
        credential = load_credential(participant.pkcs12, DEMO_PASSWORD)
        answer = perform_login(client, credential, audience=audience)
        roles = tuple(answer.get("roles", ()))
        result.logins[participant.name] = roles
        echo(f"    {participant.name:<20} {participant.display_name:<24} roles: {', '.join(roles) or '-'}")


def _show_refusals(
    client: httpx.Client, audience: str, report: DevPkiReport, result: DemoResult, echo: Echo
) -> None:
    encryption_only = next(p for p in report.participants if p.usage == "encryption")
    credential = load_credential(encryption_only.pkcs12, DEMO_PASSWORD)
    try:
        perform_login(client, credential, audience=audience)
    except ClientError as exc:
        result.refusals["encryption certificate"] = str(exc)
        echo(f"    refused {encryption_only.name} (an encryption certificate): {exc}")
    else:
        msg = "an encryption-only certificate was allowed to log in"
        raise DemoFailed(msg)
    signer = next(p for p in report.participants if p.usage == "signing")
    try:
        perform_login(
            client, load_credential(signer.pkcs12, DEMO_PASSWORD), audience="https://elsewhere.example"
        )
    except ClientError as exc:
        result.refusals["wrong audience"] = str(exc)
        echo(f"    refused a challenge for another audience: {exc}")
    else:
        msg = "the client signed a challenge meant for another server"
        raise DemoFailed(msg)


def _verify(
    client: httpx.Client, base: str, files: StateFiles, echo: Echo, *, full: bool | None = None
) -> int:
    report = verify_log(client, base, files, full=full)
    for line in report.lines():
        echo(f"    {line}")
    return report.size


@dataclass(frozen=True)
class _Monitor:
    """The monitor's view: an HTTP client to the served log and its state files."""

    client: httpx.Client
    base: str
    files: StateFiles


def _tamper_and_detect(platform: Platform, monitor: _Monitor, result: DemoResult, echo: Echo) -> None:
    with platform.transaction() as session:
        original = session.scalar(select(LogEntry.entry).where(LogEntry.leaf_index == 1))
        if original is None:
            msg = "the log has fewer than two entries"
            raise DemoFailed(msg)
        forged = original.replace(b'"v":1', b'"v":1 ', 1) if b'"v":1' in original else original + b" "
        session.execute(update(LogEntry).where(LogEntry.leaf_index == 1).values(entry=forged))
    echo("    an insider rewrote entry 1 directly in the database (UPDATE log_entries ...)")
    try:
        verify_log(monitor.client, monitor.base, monitor.files, full=True)
    except TamperEvidence as exc:
        result.tamper_detected = str(exc).splitlines()[0]
        echo(f"    the monitor caught it (exit code 4 in the CLI): {result.tamper_detected}")
    else:
        msg = "the monitor did not notice a rewritten entry"
        raise DemoFailed(msg)
    with platform.transaction() as session:
        session.execute(update(LogEntry).where(LogEntry.leaf_index == 1).values(entry=original))
    echo("    entry 1 restored")


def run_demo(directory: Path, echo: Echo = print) -> DemoResult:
    """Run the whole demo in ``directory`` (made fresh; a previous demo there is replaced)."""
    result = DemoResult()
    configure_logging("WARNING", json=False)
    _fresh_directory(directory)
    port = free_port()
    settings = load_settings(
        None,
        environment="development",
        data_dir=directory / "server",
        database_url=None,
        redis_url=None,
        public_url=f"http://127.0.0.1:{port}",
        # simulated experts: a fixed seed so every run shows the same declines and replacements
        telephony={
            "provider": "simulator",
            "simulator_seed": 21,
            "simulator_confirm_probability": 0.55,
            "simulator_decline_probability": 0.25,
        },
    )
    echo(
        f"[1/{STEPS}] Embedded default in {directory}: SQLite at {settings.effective_database_url}, "
        "in-process tasks"
    )
    clock = SkippingClock(datetime.now(UTC))
    platform = build_platform(settings, clock=clock)
    try:
        upgrade(platform.engine)
        echo("    database migrated to head (Alembic)")
        report = init_dev_pki(platform, DEMO_PASSWORD)
        echo(f"[2/{STEPS}] Development PKI made at run time in {report.directory}")
        echo(
            "    root and issuing CA, OCSP responder, CRLs, RFC 3161 TSA; "
            f"{len(report.participants)} participant"
        )
        echo(
            f"    certificates as PKCS#12 (throwaway password {DEMO_PASSWORD!r}), registered with their roles"
        )
        app = create_app(platform=platform, configure_logs=False)
        with serve_in_thread(app, port=port) as base, httpx.Client(base_url=base, timeout=30) as client:
            result.base_url = base
            echo(f"[3/{STEPS}] sealbid serving at {base} (OpenAPI at {base}/schema, probes /healthz /readyz)")
            ready = client.get("/readyz").json()
            echo(f"    readiness: {ready['checks']}")
            echo(
                f"[4/{STEPS}] Certificate login "
                "(challenge signed locally, certificate path and revocation checked):"
            )
            _login_everyone(client, settings.public_url, report, result, echo)
            _show_refusals(client, settings.public_url, report, result, echo)
            platform.tasks.join()
            echo(
                f"[5/{STEPS}] Tenders through the review workflow "
                "(agency drafts, authority approves, publication):"
            )
            result.tenders = publish_demo_tenders(
                client, settings.public_url, report, platform.tasks.join, echo
            )
            files = StateFiles(directory / "monitor" / "log-state.json")
            echo(f"[6/{STEPS}] Transparency log, checked by the monitor's tool (sealbid log verify):")
            result.log_sizes.append(_verify(client, base, files, echo))
            _login_everyone(client, settings.public_url, report, DemoResult(), lambda _line: None)
            platform.tasks.join()
            echo("    ... every participant logged in again; the log grew; second run:")
            result.log_sizes.append(_verify(client, base, files, echo))
            echo(f"[7/{STEPS}] Tamper evidence:")
            _tamper_and_detect(platform, _Monitor(client, base, files), result, echo)
            _verify(client, base, files, echo, full=True)
            context = DemoContext(
                directory=directory,
                platform=platform,
                clock=clock,
                client=client,
                base_url=base,
                audience=settings.public_url,
                report=report,
                result=result,
                echo=echo,
            )
            run_bid_steps(context, first_step=8, steps=STEPS)
            run_expert_steps(context, first_step=10, steps=STEPS)
            echo("    the monitor checks the whole log once more:")
            result.log_sizes.append(_verify(client, base, files, echo))
    except (ClientError, MonitorError) as exc:
        raise DemoFailed(str(exc)) from exc
    finally:
        platform.close()
    echo(
        f"Done: {len(result.logins)} participants logged in, {len(result.refusals)} refusals shown, "
        f"{len(result.tenders)} tenders published, {result.bids.get('receipts', 0)} bid receipts verified, "
        f"{len(result.bids.get('outcomes', {}))} envelopes decided at the opening, "
        f"an expert committee drawn and confirmed, "
        f"log verified at sizes {result.log_sizes}, rewrite detected. State kept in {directory}."
    )
    return result
