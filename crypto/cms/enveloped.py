"""Sealing: CMS AuthEnvelopedData (RFC 5083) with AES-256-GCM (RFC 5084), written as a stream.

The output is plain DER with definite lengths. AES-GCM adds no expansion, so once the plaintext size
is known every length is known before the first byte of ciphertext; the writer emits the header, then
the ciphertext chunk by chunk as a primitive ``[0] IMPLICIT OCTET STRING``, then the 16-byte tag as
``mac``. Memory use is one chunk, whatever the size. Layout::

    ContentInfo SEQUENCE {
      contentType id-ct-authEnvelopedData (1.2.840.113549.1.9.16.1.23),
      content [0] EXPLICIT AuthEnvelopedData SEQUENCE {
        version 0,
        recipientInfos SET OF RecipientInfo,         -- see crypto.cms.recipients
        authEncryptedContentInfo SEQUENCE {
          contentType (id-data unless told otherwise),
          contentEncryptionAlgorithm { id-aes256-GCM, GCMParameters { nonce (12 bytes), ICVlen 16 } },
          encryptedContent [0] IMPLICIT OCTET STRING  -- primitive, definite length = plaintext size
        },
        authAttrs [1] IMPLICIT SET OF Attribute OPTIONAL,  -- if given: DER, and the GCM AAD
        mac OCTET STRING (16 bytes)                        -- the GCM tag
      } }
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal

from asn1crypto import cms, core
from cryptography import x509
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from crypto.cms.asn1 import ID_AUTH_ENVELOPED_DATA, ID_DATA, content_encryption_algorithm
from crypto.cms.der import der_header, der_tlv
from crypto.cms.errors import CmsError
from crypto.cms.recipients import RecipientId, describe_recipients, make_recipient_info

__all__ = ["SealResult", "seal", "seal_bytes"]

_KEY_SIZE = 32
_NONCE_SIZE = 12
_TAG_SIZE = 16
_DEFAULT_CHUNK = 1 << 20
_OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"


@dataclass(frozen=True, slots=True)
class SealResult:
    """What :func:`seal` wrote."""

    envelope_size: int
    content_size: int
    recipients: tuple[RecipientId, ...]


def seal(
    source: BinaryIO | bytes,
    sink: BinaryIO,
    recipients: Sequence[x509.Certificate],
    *,
    content_size: int | None = None,
    content_type: str = ID_DATA,
    auth_attributes: Sequence[cms.CMSAttribute] = (),
    identify_by: Literal["issuer_serial", "ski"] = "issuer_serial",
    chunk_size: int = _DEFAULT_CHUNK,
) -> SealResult:
    """Encrypt ``source`` to every certificate in ``recipients``, writing the envelope to ``sink``.

    ``content_size`` is the number of bytes to read from ``source``; if omitted it is ``len(source)``
    for bytes or the distance to the end of a seekable stream. Reading stops after ``content_size``
    bytes; a source that ends early raises :class:`CmsError` (the partial output is then worthless).
    ``content_type`` is the dotted OID of the inner content. ``auth_attributes``, if any, are DER-encoded
    into ``authAttrs`` and authenticated as GCM AAD (RFC 5083 section 2.2); a content type other than
    id-data adds the content-type attribute that RFC 5083 then requires. **OpenSSL 3.x cannot parse an
    AuthEnvelopedData with authAttrs** (its ASN.1 template has the wrong tags), so sealbid's bids use
    the defaults: id-data and no authAttrs. See ``docs/envelope.md``.
    """
    if not recipients:
        raise CmsError("at least one recipient certificate is needed")
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    size = _content_size(stream, content_size)

    cek = os.urandom(_KEY_SIZE)
    nonce = os.urandom(_NONCE_SIZE)
    infos = cms.RecipientInfos([make_recipient_info(c, cek, identify_by=identify_by) for c in recipients])
    infos_der = infos.dump()
    algorithm_der = content_encryption_algorithm(_KEY_SIZE, nonce, _TAG_SIZE).dump()
    content_type_der = core.ObjectIdentifier(content_type).dump()
    aad = b""
    auth_attrs_der = b""
    encoded = [bytes(a.dump()) for a in auth_attributes]
    has_type = any(a["type"].dotted == _OID_CONTENT_TYPE for a in auth_attributes)
    if content_type != ID_DATA and not has_type:  # RFC 5083 section 2.1: MUST be present then
        encoded.append(
            der_tlv(0x30, core.ObjectIdentifier(_OID_CONTENT_TYPE).dump() + der_tlv(0x31, content_type_der))
        )
    if encoded:
        aad = der_tlv(0x31, b"".join(sorted(encoded)))  # DER SET OF; the AAD uses the SET OF tag
        auth_attrs_der = b"\xa1" + aad[1:]  # ... and the envelope carries [1] IMPLICIT

    content_header = der_header(0x80, size)
    eci_len = len(content_type_der) + len(algorithm_der) + len(content_header) + size
    eci_header = der_header(0x30, eci_len)
    version = b"\x02\x01\x00"
    mac_len = 2 + _TAG_SIZE
    aed_len = len(version) + len(infos_der) + len(eci_header) + eci_len + len(auth_attrs_der) + mac_len
    aed_header = der_header(0x30, aed_len)
    explicit_header = der_header(0xA0, len(aed_header) + aed_len)
    ci_oid = core.ObjectIdentifier(ID_AUTH_ENVELOPED_DATA).dump()
    ci_len = len(ci_oid) + len(explicit_header) + len(aed_header) + aed_len
    ci_header = der_header(0x30, ci_len)

    encryptor = Cipher(algorithms.AES(cek), modes.GCM(nonce)).encryptor()
    if aad:
        encryptor.authenticate_additional_data(aad)
    head = b"".join(
        (
            ci_header,
            ci_oid,
            explicit_header,
            aed_header,
            version,
            infos_der,
            eci_header,
            content_type_der,
            algorithm_der,
            content_header,
        )
    )
    sink.write(head)
    remaining = size
    while remaining:
        chunk = stream.read(min(chunk_size, remaining))
        if not chunk:
            raise CmsError(f"the source ended {remaining} bytes before the declared content size")
        remaining -= len(chunk)
        sink.write(encryptor.update(chunk))
    encryptor.finalize()
    sink.write(auth_attrs_der + der_header(0x04, _TAG_SIZE) + encryptor.tag)
    return SealResult(len(ci_header) + ci_len, size, describe_recipients(infos))


def seal_bytes(
    content: bytes,
    recipients: Sequence[x509.Certificate],
    *,
    content_type: str = ID_DATA,
    auth_attributes: Sequence[cms.CMSAttribute] = (),
    identify_by: Literal["issuer_serial", "ski"] = "issuer_serial",
) -> bytes:
    """In-memory :func:`seal` for small contents (key shares, statements); returns the DER envelope."""
    out = io.BytesIO()
    seal(
        content,
        out,
        recipients,
        content_type=content_type,
        auth_attributes=auth_attributes,
        identify_by=identify_by,
    )
    return out.getvalue()


def _content_size(stream: BinaryIO, declared: int | None) -> int:
    if declared is not None:
        if declared < 0:
            raise ValueError("content_size must be >= 0")
        return declared
    try:
        if stream.seekable():
            here = stream.tell()
            end = stream.seek(0, io.SEEK_END)
            stream.seek(here)
            return end - here
    except (OSError, ValueError):
        pass
    raise CmsError("content_size is required when the source is not a seekable stream")
