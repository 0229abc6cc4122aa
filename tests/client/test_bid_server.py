"""``sealbid bid seal --server``: the opening certificate comes from the real server route, after the
custodians' real key ceremony, and the sealed bid opens with the key rebuilt from their shares."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from litestar.testing import TestClient

from api.client.bid_commands import bid
from crypto.bidpackage import certificate_uscc, open_bid
from crypto.pki import BuiltPki, CertVerdict, Purpose
from tendering.platform import Platform
from tests.bids.fixtures import KeyedTender, app_client, dev, keyed_tender, parties, test_pki  # noqa: F401

PASSWORD = "correct horse"


def test_seal_to_the_opening_certificate_served_for_the_tender(
    app_client: TestClient,  # type: ignore[type-arg]  # noqa: F811
    keyed_tender: KeyedTender,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    platform: Platform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    tender = str(keyed_tender.tender_id)
    uscc = certificate_uscc(test_pki.signing("tenderer-1").certificate)
    assert uscc is not None
    (tmp_path / "form.toml").write_text(
        'total_price = "990000.00"\ncurrency = "CNY"\nduration_days = 200\nquality = "合格"\n',
        encoding="utf-8",
    )
    (tmp_path / "报价单.pdf").write_bytes(b"%PDF-1.7 " * 1000)
    p12 = tmp_path / "sign.p12"
    p12.write_bytes(test_pki.to_pkcs12("tenderer-1-sign", PASSWORD.encode()))
    runner = CliRunner()
    packed = runner.invoke(
        bid,
        ["pack", "--tender", tender, "--uscc", uscc, "--price-form", str(tmp_path / "form.toml"),
         "--out", str(tmp_path / "bid.zip"), str(tmp_path / "报价单.pdf")],
    )  # fmt: skip
    assert packed.exit_code == 0, packed.output
    sealed = runner.invoke(
        bid,
        ["seal", str(tmp_path / "bid.zip"), "--p12", str(p12), "--password-env", "P12_PASSWORD",
         "--server", platform.settings.public_url, "--tender", tender, "--out", str(tmp_path / "bid.sealed")],
        obj={"http_client": app_client},
    )  # fmt: skip
    assert sealed.exit_code == 0, sealed.output
    checker = test_pki.checker()

    def check(cert: x509.Certificate, at: datetime | None) -> CertVerdict:
        return checker.validate(cert, purpose=Purpose.SIGNING, at=at)

    verdict = open_bid(
        tmp_path / "bid.sealed",
        keyed_tender.opening_certificate,
        keyed_tender.opening_key(test_pki),
        check_certificate=check,
        expected_tender_id=tender,
    )
    assert verdict.ok, verdict.reasons
    assert verdict.manifest is not None and verdict.manifest.bidder_uscc == uscc
