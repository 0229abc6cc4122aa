"""The ``sealbid`` command line.

Server commands (``serve``, ``worker``, ``db``, ``pki``, ``demo``) import the server stack lazily; the
client commands (``login``, ``log verify``, and later ``bid``, ``custodian``, ``receipt``) depend only on
``crypto`` and an HTTP client, so a bidder can run them without a database driver.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from api.cli_settings import settings_from


@click.group()
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="TOML settings file.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="State directory.")
@click.version_option(package_name="sealbid")
@click.pass_context
def main(ctx: click.Context, config: Path | None, data_dir: Path | None) -> None:
    """sealbid: electronic tendering with signed, sealed bids and a public transparency log."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    ctx.obj["data_dir"] = data_dir


@main.command()
@click.option("--host", default=None, help="Bind address (default from settings).")
@click.option("--port", default=None, type=int, help="Port (default from settings).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the web server (API, public pages, OpenAPI at /schema)."""
    import uvicorn

    from api.app import create_app

    settings = settings_from(ctx)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )


@main.command()
@click.option("--threads", default=2, show_default=True, help="Worker threads.")
@click.pass_context
def worker(ctx: click.Context, threads: int) -> None:
    """Run task workers (Dramatiq on Redis) and the outbox relay until interrupted."""
    import experts.tasks  # noqa: F401 - registers the expert confirmation tasks
    from api.logging import configure_logging
    from tendering.platform import build_platform

    settings = settings_from(ctx)
    configure_logging(json=settings.environment == "production")
    platform = build_platform(settings)
    if platform.tasks.in_process:
        click.echo("note: no redis_url configured; the worker serves the in-process queue only", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    platform.tasks.start_worker(threads)
    click.echo(f"sealbid worker running ({threads} threads); Ctrl-C stops it")
    try:
        while not stop.wait(settings.maintenance_interval_seconds):
            platform.maintenance()  # safety net: relay unsent messages, integrate pending log entries
    finally:
        platform.close()


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply Alembic migrations to the configured database."""
    from tendering.db import make_engine
    from tendering.migrations import upgrade

    settings = settings_from(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine, revision)
    finally:
        engine.dispose()
    click.echo(f"database at {engine.url.render_as_string(hide_password=True)} is at {revision}")


from api.client.log_commands import log  # noqa: E402 - client command groups are registered last

main.add_command(log)

from api.client.login_commands import login  # noqa: E402 - command groups are registered last
from api.identity_commands import identity  # noqa: E402
from api.pki_commands import pki  # noqa: E402

main.add_command(login)
main.add_command(pki)
main.add_command(identity)

from api.client.bid_commands import bid  # noqa: E402
from api.client.custodian_commands import custodian  # noqa: E402
from api.client.decrypt_commands import add_decrypt_commands  # noqa: E402
from api.client.opening_verify import opening  # noqa: E402
from api.client.release_commands import add_release_commands  # noqa: E402
from api.client.submit_commands import add_submission_commands, receipt  # noqa: E402
from api.experts_commands import experts  # noqa: E402

add_submission_commands(bid)
add_decrypt_commands(bid)
add_release_commands(custodian)
main.add_command(bid)
main.add_command(receipt)
main.add_command(custodian)
main.add_command(opening)
main.add_command(experts)


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".sealbid/demo"),
    show_default=True,
    help="Demo state directory (replaced on every run).",
)
def demo(directory: Path) -> None:
    """Run everything that exists end to end on the embedded default and say what it did."""
    from api.demo import DemoFailed, run_demo

    try:
        run_demo(directory, click.echo)
    except DemoFailed as exc:
        raise click.ClickException(f"demo failed: {exc}") from None


if __name__ == "__main__":
    main()
