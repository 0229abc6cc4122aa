"""OCSP, CRL and TSA answers of the built PKI, checked with the openssl command line and pyHanko."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from crypto.pki import BuiltPki, InMemoryRevocationFetching, UnknownEndpoint
from crypto.pki.tsa import DEV_TSA_POLICY, TimeStampResponse
from tests.crypto.pki.conftest import ManualClock


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def files(pki: BuiltPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki-files")
    for name in ("test-root", "test-ca", "good-ec-sign", "revoked-sign", "good-rsa-sign"):
        (directory / f"{name}.pem").write_bytes(pki.credential(name).certificate.public_bytes(Encoding.PEM))
    bundle = b"".join(
        pki.credential(n).certificate.public_bytes(Encoding.PEM) for n in ("test-root", "test-ca")
    )
    (directory / "bundle.pem").write_bytes(bundle)
    return directory


def _ocsp_request_der(pki: BuiltPki, name: str, algorithm: hashes.HashAlgorithm) -> bytes:
    cred = pki.credential(name)
    issuer = pki.credential(str(cred.issuer)).certificate
    request = ocsp.OCSPRequestBuilder().add_certificate(cred.certificate, issuer, algorithm).build()
    return request.public_bytes(Encoding.DER)


# -- OCSP -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "status"), [("good-ec-sign", "good"), ("revoked-sign", "revoked")])
def test_openssl_accepts_ocsp_responses(pki: BuiltPki, files: Path, name: str, status: str) -> None:
    request = files / f"{name}.ocsp-req"
    response = files / f"{name}.ocsp-resp"
    made = _openssl(
        "ocsp", "-issuer", files / "test-ca.pem", "-cert", files / f"{name}.pem", "-reqout", request
    )
    assert made.returncode == 0, made.stderr
    response.write_bytes(
        pki.revocation_authority().respond_ocsp(pki.urls.ocsp("test-ca"), request.read_bytes())
    )
    checked = _openssl(
        "ocsp", "-reqin", request, "-respin", response, "-CAfile", files / "bundle.pem", "-resp_text"
    )
    assert checked.returncode == 0, checked.stderr
    assert "Response verify OK" in checked.stdout + checked.stderr
    assert f"Cert Status: {status}" in checked.stdout
    if status == "revoked":
        assert "Key Compromise" in checked.stdout or "keyCompromise" in checked.stdout
    with_status = _openssl(
        "ocsp",
        "-respin",
        response,
        "-issuer",
        files / "test-ca.pem",
        "-cert",
        files / f"{name}.pem",
        "-CAfile",
        files / "bundle.pem",
        "-no_nonce",
    )
    assert f"{name}.pem: {status}" in with_status.stdout


def test_ocsp_response_details(pki: BuiltPki) -> None:
    clock = ManualClock()
    authority = pki.revocation_authority(clock=clock)
    for algorithm in (hashes.SHA1(), hashes.SHA256(), hashes.SHA384()):
        der = authority.ocsp_response(_ocsp_request_der(pki, "good-ec-sign", algorithm))
        response = ocsp.load_der_ocsp_response(der)
        assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
        assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
        assert response.hash_algorithm.name == algorithm.name
        assert response.this_update_utc == (clock.now - timedelta(minutes=1)).replace(microsecond=0)
        # signed by the delegated responder, which is included
        responder = pki.credential("test-ocsp").certificate
        assert response.certificates == [responder]
        assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    # the root has no delegated responder: it signs for test-ca itself
    root_answer = ocsp.load_der_ocsp_response(
        authority.ocsp_response(_ocsp_request_der(pki, "test-ca", hashes.SHA1()))
    )
    assert root_answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert root_answer.certificates == []
    assert (
        root_answer.responder_key_hash
        == pki.credential("test-root")
        .certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        .value.digest
    )


def test_ocsp_errors(pki: BuiltPki) -> None:
    authority = pki.revocation_authority()

    def status(der: bytes) -> ocsp.OCSPResponseStatus:
        return ocsp.load_der_ocsp_response(der).response_status

    assert status(authority.ocsp_response(b"junk")) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    # a certificate of the untrusted root: this authority does know other-root, but not at test-ca's URL
    request = _ocsp_request_der(pki, "untrusted-sign", hashes.SHA1())
    answer = authority.respond_ocsp(pki.urls.ocsp("test-ca"), request)
    assert status(answer) is ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert status(authority.respond_ocsp(pki.urls.ocsp("other-root"), request)) is (
        ocsp.OCSPResponseStatus.SUCCESSFUL
    )
    with pytest.raises(UnknownEndpoint):
        authority.respond_ocsp("http://elsewhere.invalid/ocsp", request)
    # a serial number test-ca never issued
    ca = pki.credential("test-ca").certificate
    unknown = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            hashlib.sha1(ca.subject.public_bytes()).digest(),
            _key_hash(ca),
            12345,
            hashes.SHA1(),
        )
        .build()
    )
    response = ocsp.load_der_ocsp_response(authority.ocsp_response(unknown.public_bytes(Encoding.DER)))
    assert response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def _key_hash(cert: x509.Certificate) -> bytes:
    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
    return bytes(asn1_cert.public_key.sha1)


# -- CRL --------------------------------------------------------------------------------------------


def test_openssl_verifies_the_crl(pki: BuiltPki, files: Path) -> None:
    crl_file = files / "test-ca.crl"
    crl_file.write_bytes(pki.revocation_authority().fetch_crl(pki.urls.crl("test-ca")))
    verified = _openssl(
        "crl", "-inform", "DER", "-in", crl_file, "-CAfile", files / "test-ca.pem", "-noout", "-verify"
    )
    assert verified.returncode == 0, verified.stderr
    assert "verify OK" in verified.stdout + verified.stderr
    text = _openssl("crl", "-inform", "DER", "-in", crl_file, "-noout", "-text").stdout
    revoked_serial = format(pki.credential("revoked-sign").certificate.serial_number, "X")
    assert revoked_serial in text.replace(":", "")
    assert "Key Compromise" in text
    # planned for the future: not listed yet
    later_serial = format(pki.credential("revoked-later-sign").certificate.serial_number, "X")
    assert later_serial not in text.replace(":", "")


def test_crl_contents(pki: BuiltPki) -> None:
    clock = ManualClock()
    authority = pki.revocation_authority(clock=clock)
    crl = x509.load_der_x509_crl(authority.crl("test-root"))
    ca = pki.credential("test-root").certificate
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.issuer == ca.subject
    revoked = crl.get_revoked_certificate_by_serial_number(
        pki.credential("revoked-ca").certificate.serial_number
    )
    assert revoked is not None
    assert (
        revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason
        is x509.ReasonFlags.ca_compromise
    )
    unspecified = x509.load_der_x509_crl(authority.crl("test-ca")).get_revoked_certificate_by_serial_number(
        pki.credential("revoked-unspecified-sign").certificate.serial_number
    )
    assert unspecified is not None
    assert len(unspecified.extensions) == 0  # reason "unspecified" is omitted (RFC 5280 5.3.1)
    clock.advance(days=31)
    later = x509.load_der_x509_crl(authority.crl("test-ca"))
    assert later.get_revoked_certificate_by_serial_number(
        pki.credential("revoked-later-sign").certificate.serial_number
    )
    with pytest.raises(UnknownEndpoint):
        authority.fetch_crl("http://elsewhere.invalid/x.crl")
    cert_der = authority.fetch_issuer_certificate(pki.urls.ca_issuers("test-ca"))
    assert cert_der == pki.credential("test-ca").certificate.public_bytes(Encoding.DER)
    assert pki.urls.crl("test-ca") in authority.endpoints()


# -- TSA --------------------------------------------------------------------------------------------


def test_openssl_verifies_time_stamp_tokens(pki: BuiltPki, files: Path) -> None:
    data = files / "document.bin"
    data.write_bytes(b"sealed bid receipt\n" * 100)
    query = files / "request.tsq"
    reply = files / "reply.tsr"
    made = _openssl("ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
    assert made.returncode == 0, made.stderr
    reply.write_bytes(pki.tsa().respond(query.read_bytes()))
    verified = _openssl("ts", "-verify", "-data", data, "-in", reply, "-CAfile", files / "bundle.pem")
    assert verified.returncode == 0, verified.stderr + verified.stdout
    assert "Verification: OK" in verified.stdout
    wrong = files / "other.bin"
    wrong.write_bytes(b"something else")
    assert (
        _openssl("ts", "-verify", "-data", wrong, "-in", reply, "-CAfile", files / "bundle.pem").returncode
        != 0
    )
    text = _openssl("ts", "-reply", "-in", reply, "-text").stdout
    assert DEV_TSA_POLICY in text


async def test_pyhanko_verifies_time_stamp_tokens(pki: BuiltPki) -> None:
    clock = ManualClock(datetime(2030, 5, 1, 8, 0, tzinfo=UTC))
    stamper = pki.tsa(clock=clock).timestamper()
    digest = hashlib.sha256(b"bid envelope").digest()
    token = await stamper.async_timestamp(digest, "sha256")
    fetchers = InMemoryRevocationFetching(pki.revocation_authority()).backend().get_fetchers()
    context = ValidationContext(
        trust_roots=[
            asn1_x509.Certificate.load(pki.credential("test-root").certificate.public_bytes(Encoding.DER))
        ],
        allow_fetching=True,
        fetchers=fetchers,
        revocation_mode="require",
    )
    kwargs = await validate_tst_signed_data(token["content"], context, lambda _alg: digest)
    status = TimestampSignatureStatus(**kwargs)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.timestamp == clock.now
    tampered = await validate_tst_signed_data(token["content"], context, lambda _alg: b"\x00" * 32)
    assert not tampered["intact"]


def _tsa_status(answer: bytes) -> tuple[str, set[str] | None]:
    response = TimeStampResponse.load(answer)
    return response["status"]["status"].native, response["status"]["fail_info"].native


def test_tsa_rejects_bad_requests(pki: BuiltPki) -> None:
    tsa = pki.tsa()
    assert _tsa_status(tsa.respond(b"junk")) == ("rejection", {"bad_data_format"})

    def request(algorithm: str, digest: bytes, **extra: object) -> bytes:
        imprint = tsp.MessageImprint({"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest})
        return bytes(tsp.TimeStampReq({"version": 1, "message_imprint": imprint, **extra}).dump())

    assert _tsa_status(tsa.respond(request("md5", b"\x00" * 16))) == ("rejection", {"bad_alg"})
    assert _tsa_status(tsa.respond(request("sha256", b"\x00" * 20))) == ("rejection", {"bad_data_format"})
    assert _tsa_status(tsa.respond(request("sha256", b"\x00" * 32, req_policy="1.2.3.4"))) == (
        "rejection",
        {"unaccepted_policy"},
    )
    granted = tsa.respond(request("sha512", b"\x01" * 64, req_policy=DEV_TSA_POLICY, nonce=7))
    assert _tsa_status(granted) == ("granted", None)
    with pytest.raises(KeyError):
        pki.tsa("test-ocsp")


def test_tsa_certificate_profile(pki: BuiltPki) -> None:
    cert = pki.credential("tsa").certificate
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]


async def test_in_process_timestamper_reports_rejections(pki: BuiltPki) -> None:
    stamper = pki.tsa().timestamper()
    with pytest.raises(TimestampRequestError, match="bad_alg"):
        await stamper.async_timestamp(b"\x00" * 16, "md5")
