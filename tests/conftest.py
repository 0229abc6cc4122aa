"""Shared fixtures: settings, a migrated database, the platform, the web app.

The schema is always built by ``alembic upgrade head``. By default tests run on SQLite (a migrated
template file copied per test). With ``SEALBID_TEST_DATABASE_URL`` (an admin URL of a PostgreSQL
server) each test gets its own database cloned from a migrated template; with
``SEALBID_TEST_REDIS_URL`` tasks go through Redis under a per-test namespace.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tendering.clock import ManualClock
from tendering.db import make_engine
from tendering.migrations import upgrade
from tendering.platform import Platform, build_platform
from tendering.settings import Settings, load_settings

PG_ADMIN_URL = os.environ.get("SEALBID_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("SEALBID_TEST_REDIS_URL")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _pg_url(database: str) -> str:
    assert PG_ADMIN_URL
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def _pg_admin() -> Engine:
    assert PG_ADMIN_URL
    url = PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to clone: a SQLite file path or a PostgreSQL database name."""
    if PG_ADMIN_URL:
        name = f"sealbid_tmpl_{uuid.uuid4().hex[:10]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(_pg_url(name))
        upgrade(engine)
        engine.dispose()
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if PG_ADMIN_URL:
        name = f"sealbid_t_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{database_template}"'))
        yield _pg_url(name)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path / "sealbid.db"
        shutil.copyfile(database_template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    """Test time: moves only when a test advances it."""
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for one test: its own data directory, database and Redis namespace."""
    return load_settings(
        None,
        environment="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_namespace=f"sealbid-test-{uuid.uuid4().hex[:8]}",
        maintenance_interval_seconds=3600.0,  # tests sweep explicitly (platform.maintenance())
    )


@pytest.fixture
def platform(settings: Settings, clock: ManualClock) -> Iterator[Platform]:
    """The platform services on the test database, with the manual clock."""
    the_platform = build_platform(settings, clock=clock)
    yield the_platform
    the_platform.close()


@pytest.fixture
def db_session(platform: Platform) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test (savepoints inside)."""
    connection = platform.engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """An HTTP client for the app on the test platform (worker started for in-process tasks)."""
    from api.app import create_app

    app = create_app(platform=platform, configure_logs=False)
    with TestClient(app) as test_client:
        yield test_client


class _Responder(Protocol):
    def respond(self, request_der: bytes) -> bytes: ...


@dataclass
class HttpTsa:
    """An RFC 3161 time-stamping authority served over local HTTP (``POST`` a TimeStampReq).

    ``requests`` holds every request body received; while ``down`` is set it answers 503 (an
    unreachable or failing TSA).
    """

    url: str
    requests: list[bytes] = field(default_factory=list)
    down: bool = False


@pytest.fixture
def tsa_server() -> Iterator[Callable[[_Responder], HttpTsa]]:
    """Serve a TSA over HTTP on 127.0.0.1: call with an authority (``respond(der) -> der``, e.g.
    ``BuiltPki.tsa()`` or a platform's development TSA); every server is stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def serve(authority: _Responder) -> HttpTsa:
        tsa = HttpTsa("")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                tsa.requests.append(body)
                if tsa.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                reply = authority.respond(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
        return tsa

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
