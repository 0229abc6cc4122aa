"""The dev PKI endpoints: CA certificates, CRLs, OCSP and RFC 3161, checked with cryptography and openssl."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from litestar.testing import TestClient

from crypto.pki import BuiltPki
from tendering.identity.checker import DevPki
from tests.identity.conftest import START

Client = TestClient  # type: ignore[type-arg]
OPENSSL = shutil.which("openssl")


def _ocsp_request(pki: BuiltPki, name: str) -> bytes:
    cert = pki.credential(name).certificate
    issuer = pki.credential("dev-ca").certificate
    return (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, issuer, hashes.SHA256())
        .build()
        .public_bytes(Encoding.DER)
    )


def test_ca_certificates_in_der_and_pem(app_client: Client, test_pki: BuiltPki) -> None:
    der = app_client.get("/dev-pki/ca/dev-ca.cer")
    assert der.status_code == 200 and der.headers["content-type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(der.content) == test_pki.credential("dev-ca").certificate
    pem = app_client.get("/dev-pki/ca/dev-root.crt")
    assert x509.load_pem_x509_certificate(pem.content) == test_pki.credential("dev-root").certificate
    bundle = x509.load_pem_x509_certificates(app_client.get("/dev-pki/trust/ca-bundle.pem").content)
    assert len(bundle) == 2
    assert app_client.get("/dev-pki/ca/tenderer-1-sign.cer").status_code == 404
    assert app_client.get("/dev-pki/ca/dev-ca.exe").status_code == 404


def test_crl_lists_the_revoked_certificate(app_client: Client, test_pki: BuiltPki) -> None:
    response = app_client.get("/dev-pki/crl/dev-ca.crl")
    assert response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.is_signature_valid(test_pki.credential("dev-ca").certificate.public_key())  # type: ignore[arg-type]
    revoked = test_pki.credential("revoked-sign").certificate.serial_number
    assert crl.get_revoked_certificate_by_serial_number(revoked) is not None
    assert app_client.get("/dev-pki/crl/nobody.crl").status_code == 404


@pytest.mark.parametrize("path", ["/dev-pki/ocsp/dev-ca", "/dev-pki/ocsp"])
def test_ocsp_answers_good_and_revoked(app_client: Client, test_pki: BuiltPki, path: str) -> None:
    headers = {"Content-Type": "application/ocsp-request"}
    good = app_client.post(path, content=_ocsp_request(test_pki, "tenderer-1-sign"), headers=headers)
    assert good.status_code == 200 and good.headers["content-type"] == "application/ocsp-response"
    assert ocsp.load_der_ocsp_response(good.content).certificate_status == ocsp.OCSPCertStatus.GOOD
    bad = app_client.post(path, content=_ocsp_request(test_pki, "revoked-sign"), headers=headers)
    assert ocsp.load_der_ocsp_response(bad.content).certificate_status == ocsp.OCSPCertStatus.REVOKED


def test_ocsp_sees_revocations_made_in_the_authority(
    app_client: Client, test_pki: BuiltPki, dev: DevPki
) -> None:
    dev.authority.revoke(test_pki.credential("tenderer-2-sign").certificate)
    answer = app_client.post("/dev-pki/ocsp/dev-ca", content=_ocsp_request(test_pki, "tenderer-2-sign"))
    assert ocsp.load_der_ocsp_response(answer.content).certificate_status == ocsp.OCSPCertStatus.REVOKED


def test_ocsp_and_tsa_refuse_empty_bodies(app_client: Client) -> None:
    assert app_client.post("/dev-pki/ocsp", content=b"").json()["code"] == "bad-request-body"
    assert app_client.post("/dev-pki/tsa", content=b"").status_code == 400


def test_tsa_grants_a_time_stamp(app_client: Client) -> None:
    digest = hashlib.sha256(b"bid").digest()
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": digest,
            },
            "cert_req": True,
        }
    )
    for path in ("/dev-pki/tsa", "/dev-pki/tsa/tsa"):
        response = app_client.post(
            path, content=request.dump(), headers={"Content-Type": "application/timestamp-query"}
        )
        assert response.headers["content-type"] == "application/timestamp-reply"
        reply = tsp.TimeStampResp.load(response.content)
        assert reply["status"]["status"].native == "granted"
    assert app_client.post("/dev-pki/tsa/dev-ca", content=request.dump()).status_code == 404


def test_without_a_dev_pki_the_endpoints_say_so(client: Client) -> None:
    response = client.get("/dev-pki/ca/dev-ca.cer")
    assert response.status_code == 404 and response.json()["code"] == "dev-pki-missing"


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command line")
def test_openssl_ocsp_and_ts_accept_the_answers(
    app_client: Client, test_pki: BuiltPki, tmp_path: Path
) -> None:
    def write(name: str, data: bytes) -> str:
        (tmp_path / name).write_bytes(data)
        return str(tmp_path / name)

    attime = str(int(START.timestamp()) + 60)  # the PKI and the answers live on the manual clock
    bundle = write("bundle.pem", app_client.get("/dev-pki/trust/ca-bundle.pem").content)
    issuer = write("issuer.pem", test_pki.credential("dev-ca").certificate.public_bytes(Encoding.PEM))
    cert = write("cert.pem", test_pki.credential("tenderer-1-sign").certificate.public_bytes(Encoding.PEM))

    def openssl(*args: str) -> str:
        done = subprocess.run([OPENSSL or "openssl", *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    openssl("ocsp", "-issuer", issuer, "-cert", cert, "-no_nonce", "-reqout", str(tmp_path / "req.der"))
    answer = app_client.post("/dev-pki/ocsp/dev-ca", content=(tmp_path / "req.der").read_bytes())
    write("resp.der", answer.content)
    said = openssl(
        "ocsp", "-respin", str(tmp_path / "resp.der"), "-issuer", issuer, "-cert", cert, "-CAfile", bundle,
        "-attime", attime, "-validity_period", "1000000000",
    )  # fmt: skip
    assert "Response verify OK" in said and f"{cert}: good" in said

    data = write("data.txt", b"sealed bid\n")
    openssl("ts", "-query", "-data", data, "-sha256", "-cert", "-out", str(tmp_path / "q.tsq"))
    reply = app_client.post("/dev-pki/tsa", content=(tmp_path / "q.tsq").read_bytes())
    write("r.tsr", reply.content)
    said = openssl(
        "ts", "-verify", "-in", str(tmp_path / "r.tsr"), "-queryfile", str(tmp_path / "q.tsq"), "-CAfile", bundle,
        "-attime", attime,
    )  # fmt: skip
    assert "Verification: OK" in said
