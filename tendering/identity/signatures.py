"""Verifying the signature over a login challenge.

Accepted algorithms (``signature_algorithm`` in the login request):

``ecdsa-sha256``         ECDSA with SHA-256, DER-encoded (r, s) — P-256 keys (also P-384/P-521)
``rsa-pss-sha256``       RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32
``rsa-pkcs1v15-sha256``  RSASSA-PKCS1-v1_5 with SHA-256

SM2 (GB/T 32918) is not supported by the ``cryptography`` library and is refused with a clear message.
"""

from __future__ import annotations

from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tendering.errors import InvalidInput, Unauthorized

ALGORITHMS: Final = ("ecdsa-sha256", "rsa-pss-sha256", "rsa-pkcs1v15-sha256")


def verify_challenge_signature(
    certificate: x509.Certificate, algorithm: str, signature: bytes, data: bytes
) -> None:
    """Return if ``signature`` over ``data`` verifies with the certificate's key, else raise.

    Raises InvalidInput for an unknown algorithm or one that does not fit the key, and Unauthorized
    (``signature-invalid``) when the signature does not verify.
    """
    key = certificate.public_key()
    try:
        if algorithm == "ecdsa-sha256":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise InvalidInput(
                    "ecdsa-sha256 needs an EC certificate", code="signature-algorithm-mismatch"
                )
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif algorithm in ("rsa-pss-sha256", "rsa-pkcs1v15-sha256"):
            if not isinstance(key, rsa.RSAPublicKey):
                raise InvalidInput(
                    f"{algorithm} needs an RSA certificate", code="signature-algorithm-mismatch"
                )
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                if algorithm == "rsa-pss-sha256"
                else padding.PKCS1v15()
            )
            key.verify(signature, data, pad, hashes.SHA256())
        else:
            raise InvalidInput(
                f"unsupported signature algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}",
                code="signature-algorithm-unsupported",
            )
    except InvalidSignature:
        raise Unauthorized(
            "the signature over the login challenge does not verify with this certificate's key",
            code="signature-invalid",
        ) from None
