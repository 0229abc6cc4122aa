"""``sealbid login --browser``: the client prints a one-time link that signs a web browser in."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.client.login_commands import login
from crypto.pki import BuiltPki
from tendering.platform import Platform

PASSWORD = "correct horse"
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private client state directory, and the PKCS#12 password in the environment."""
    target = tmp_path / "client-state"
    monkeypatch.setenv("SEALBID_CLIENT_STATE_DIR", str(target))
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    return target


def p12_file(pki: BuiltPki, tmp_path: Path) -> Path:
    """tenderer-1's signing certificate and key as a PKCS#12 file."""
    path = tmp_path / "tenderer-1.p12"
    path.write_bytes(pki.to_pkcs12("tenderer-1-sign", PASSWORD.encode()))
    return path


def printed_link(output: str) -> str:
    """The path and query of the sign-in link the command printed."""
    found = re.search(r"^(http\S+/signin\?token=\S+)$", output, re.M)
    assert found, output
    parts = urlsplit(found.group(1))
    return f"{parts.path}?{parts.query}"


def test_login_with_browser_prints_a_working_link(
    app_client: Client, test_pki: BuiltPki, platform: Platform, state_dir: Path, tmp_path: Path
) -> None:
    server = platform.settings.public_url
    args = ["--server", server, "--p12", str(p12_file(test_pki, tmp_path)), "--password-env", "P12_PASSWORD"]
    result = CliRunner().invoke(
        login, [*args, "--browser", "--next", "/supervision"], obj={"http_client": app_client}
    )
    assert result.exit_code == 0, result.output
    assert "Roles: tenderer" in result.output
    assert "Open this link in your browser to sign in there (it works once, until" in result.output
    link = printed_link(result.output)
    assert "闽江建设工程有限公司" in app_client.get(link).text
    token = link.split("token=")[1]
    answer = app_client.post("/signin", data={"token": token}, follow_redirects=False)
    assert answer.headers["location"] == "/supervision"


def test_browser_link_from_the_cached_login(
    app_client: Client, test_pki: BuiltPki, platform: Platform, state_dir: Path, tmp_path: Path
) -> None:
    server = platform.settings.public_url
    runner = CliRunner()
    refused = runner.invoke(login, ["--server", server, "--browser"], obj={"http_client": app_client})
    assert refused.exit_code == 1
    assert "not logged in to" in refused.output and "--browser --p12 FILE" in refused.output
    args = ["--server", server, "--p12", str(p12_file(test_pki, tmp_path)), "--password-env", "P12_PASSWORD"]
    assert runner.invoke(login, args, obj={"http_client": app_client}).exit_code == 0
    # the server runs on the test's manual clock, the client checks its cache against the real time
    (cached,) = (state_dir / "tokens").glob("*.json")
    record = json.loads(cached.read_text())
    record["expires_at"] = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cached.write_text(json.dumps(record))
    first = runner.invoke(login, ["--server", server, "--browser"], obj={"http_client": app_client})
    second = runner.invoke(login, ["--server", server, "--browser"], obj={"http_client": app_client})
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert printed_link(first.output) != printed_link(second.output)  # a fresh secret every time
    assert app_client.get(printed_link(first.output)).status_code == 200


def test_browser_options_are_checked(app_client: Client, platform: Platform, state_dir: Path) -> None:
    server = platform.settings.public_url
    runner = CliRunner()
    usage = runner.invoke(login, ["--server", server, "--next", "/x"], obj={"http_client": app_client})
    assert usage.exit_code == 2 and "--next and --open go with --browser" in usage.output
    missing = runner.invoke(login, ["--server", server], obj={"http_client": app_client})
    assert missing.exit_code == 2 and "--p12 is required" in missing.output


def test_a_foreign_next_page_is_refused_in_plain_words(
    app_client: Client, test_pki: BuiltPki, platform: Platform, state_dir: Path, tmp_path: Path
) -> None:
    server = platform.settings.public_url
    args = ["--server", server, "--p12", str(p12_file(test_pki, tmp_path)), "--password-env", "P12_PASSWORD"]
    result = CliRunner().invoke(
        login, [*args, "--browser", "--next", "https://evil.example/"], obj={"http_client": app_client}
    )
    assert result.exit_code == 1
    assert "next must be a path on this server" in result.output and "invalid-next" in result.output
