"""HTTP plumbing shared by the client commands: server URLs, the token cache, readable errors.

Imports only the standard library and ``httpx``: client tools must run without a database driver or
the server stack. Tokens are cached per server in ``$SEALBID_CLIENT_STATE_DIR`` (default
``~/.local/state/sealbid``), one file per server, mode 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_SERVER = "http://127.0.0.1:8000"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ClientError(Exception):
    """A failure to show to the user as it is (plain words, no traceback)."""


def normalise_url(url: str) -> str:
    """``scheme://host[:port][/path]`` in lower case, without default ports or a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"{url!r} is not an http(s) server address")
    default = 443 if parts.scheme == "https" else 80
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}{parts.path.rstrip('/')}"


def default_server() -> str:
    """``$SEALBID_SERVER`` or the local default."""
    return os.environ.get("SEALBID_SERVER", DEFAULT_SERVER)


def state_dir() -> Path:
    """Where client state lives (created 0700)."""
    configured = os.environ.get("SEALBID_CLIENT_STATE_DIR")
    base = Path(configured) if configured else Path.home() / ".local" / "state" / "sealbid"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


def _token_file(server: str) -> Path:
    key = hashlib.sha256(normalise_url(server).encode()).hexdigest()[:24]
    return state_dir() / "tokens" / f"{key}.json"


def save_token(server: str, login_answer: dict[str, Any]) -> Path:
    """Cache a login answer (token, expiry, identity) for ``server``; the file is 0600."""
    path = _token_file(server)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = {"server": normalise_url(server), **login_answer}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    tmp.replace(path)
    return path


def load_token(server: str, *, now: datetime | None = None) -> dict[str, Any] | None:
    """The cached, unexpired login answer for ``server``, if any."""
    path = _token_file(server)
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expires = parse_time(str(record.get("expires_at", "")))
    if expires is None or expires <= (now or datetime.now(UTC)):
        return None
    return record


def parse_time(value: str) -> datetime | None:
    """An RFC 3339 UTC time as sent by the server, or None."""
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def problem_message(response: httpx.Response) -> str:
    """Plain words for a failed response (RFC 9457 problem+json or anything else)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("detail" in body or "title" in body):
        detail = str(body.get("detail") or body.get("title"))
        code = body.get("code")
        suffix = f" [{code}, HTTP {response.status_code}]" if code else f" [HTTP {response.status_code}]"
        return detail + suffix
    reason = response.reason_phrase or "error"
    return f"the server answered {response.status_code} {reason}"


def make_client(server: str, *, token: str | None = None) -> httpx.Client:
    """An HTTP client for ``server`` (with a bearer token when given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=normalise_url(server), timeout=TIMEOUT, headers=headers)


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """Send a request and return the JSON answer; raise ClientError with plain words on any failure."""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.TimeoutException:
        raise ClientError(f"the server at {client.base_url} did not answer in time") from None
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the server at {client.base_url}: {exc}") from None
    if response.status_code >= 400:
        raise ClientError(problem_message(response))
    try:
        return response.json()
    except ValueError:
        raise ClientError(f"the server at {client.base_url} did not answer with JSON") from None


def authorised_client(server: str) -> httpx.Client:
    """A client carrying the cached token for ``server``, or ClientError asking to log in."""
    record = load_token(server)
    if record is None:
        raise ClientError(
            f"not logged in to {normalise_url(server)} (or the login expired); run: sealbid login"
        )
    return make_client(server, token=str(record["token"]))
