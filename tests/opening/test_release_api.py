"""``sealbid custodian release`` against the app: two of three custodians release, the opening runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.client.release_commands import release
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.opening.vault import vault_of
from tendering.platform import Platform
from tests.identity.conftest import token_for
from tests.opening.conftest import Bidding
from tests.opening.helpers import pass_deadline
from tests.tenders.helpers import state_of

PASSWORD = "release-test"


def p12_files(pki: BuiltPki, directory: Path, custodian: int) -> tuple[Path, Path]:
    paths = []
    for usage in ("enc", "sign"):
        path = directory / f"custodian-{custodian}-{usage}.p12"
        path.write_bytes(pki.to_pkcs12(f"custodian-{custodian}-{usage}", PASSWORD.encode()))
        paths.append(path)
    return paths[0], paths[1]


def run_release(
    client: TestClient, pki: BuiltPki, tmp_path: Path, bidding: Bidding, custodian: int
) -> object:  # type: ignore[type-arg]
    client.headers.update(token_for(client, pki.signing(f"custodian-{custodian}")))
    enc, sign = p12_files(pki, tmp_path, custodian)
    return CliRunner().invoke(
        release,
        ["--server", "http://testserver", "--tender", str(bidding.tender_id), "--p12", str(enc),
         "--sign-p12", str(sign), "--password-env", "P12_PASSWORD", "--sign-password-env", "P12_PASSWORD"],
        obj={"http_client": client},
    )  # fmt: skip


def test_custodians_release_with_the_tool_and_the_opening_runs(
    platform: Platform,
    clock: ManualClock,
    bidding: Bidding,
    app_client: TestClient,  # type: ignore[type-arg]
    test_pki: BuiltPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    early = run_release(app_client, test_pki, tmp_path, bidding, 1)
    assert early.exit_code != 0 and "opening time has not come" in early.output  # type: ignore[attr-defined]
    pass_deadline(platform, clock, bidding.tender_id)
    first = run_release(app_client, test_pki, tmp_path, bidding, 1)
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    assert "1 of 2 needed" in first.output  # type: ignore[attr-defined]
    again = run_release(app_client, test_pki, tmp_path, bidding, 1)
    assert "released again" in again.output  # type: ignore[attr-defined]
    second = run_release(app_client, test_pki, tmp_path, bidding, 3)
    assert second.exit_code == 0 and "The opening has started." in second.output  # type: ignore[attr-defined]
    vault_of(platform).join(bidding.tender_id, timeout=120)
    assert state_of(platform, bidding.tender_id) == "opened"
    progress = app_client.get(f"/public/tenders/{bidding.tender_id}/opening").json()
    assert progress["state"] == "opened" and progress["shares_released"] == [1, 3]
    assert progress["outcomes"] == {"opened": 3, "revoked": 0, "withdrawn": 0, "undecided": 0}


def test_progress_is_not_found_before_the_closing_and_the_tool_refuses_a_wrong_p12(
    platform: Platform,
    clock: ManualClock,
    bidding: Bidding,
    app_client: TestClient,  # type: ignore[type-arg]
    test_pki: BuiltPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert app_client.get(f"/public/tenders/{bidding.tender_id}/opening").status_code == 404
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    pass_deadline(platform, clock, bidding.tender_id)
    app_client.headers.update(token_for(app_client, test_pki.signing("custodian-2")))
    enc, sign = p12_files(test_pki, tmp_path, 2)
    swapped = CliRunner().invoke(
        release,
        ["--tender", str(bidding.tender_id), "--p12", str(sign), "--sign-p12", str(enc),
         "--password-env", "P12_PASSWORD", "--sign-password-env", "P12_PASSWORD"],
        obj={"http_client": app_client},
    )  # fmt: skip
    assert swapped.exit_code != 0 and "ENCRYPTION PKCS#12" in swapped.output


def test_the_release_route_refuses_bad_input_and_other_roles(
    platform: Platform,
    clock: ManualClock,
    bidding: Bidding,
    app_client: TestClient,  # type: ignore[type-arg]
    test_pki: BuiltPki,
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    path = f"/custodian/tenders/{bidding.tender_id}/opening/release"
    app_client.headers.update(token_for(app_client, test_pki.signing("custodian-1")))
    garbage = app_client.post(path, json={"statement": "%%%", "signature": "", "share": ""})
    assert garbage.status_code == 400 and garbage.json()["code"] == "invalid-base64"
    missing = app_client.post(path, json={"statement": "e30="})
    assert missing.status_code == 400
    app_client.headers.update(token_for(app_client, test_pki.signing("tenderer-1")))
    assert app_client.post(path, json={"statement": "e30=", "signature": "", "share": ""}).status_code == 403
    assert vault_of(platform).held(bidding.tender_id) == ()
