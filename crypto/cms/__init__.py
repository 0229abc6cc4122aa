"""CMS for sealed bids: SignedData (RFC 5652) and AuthEnvelopedData (RFC 5083/5084), streaming.

* :mod:`crypto.cms.signing` -- :class:`Signer`, ``sign_detached`` / ``sign_attached`` / ``sign_attached_to``
  (and ``a*`` async variants), optional RFC 3161 signature time-stamp
* :mod:`crypto.cms.verify` -- ``verify_signed`` / ``averify_signed`` -> :class:`SignatureVerdict`
* :mod:`crypto.cms.enveloped` -- ``seal`` / ``seal_bytes`` (AES-256-GCM, ECDH P-256 kari or RSA-OAEP ktri)
* :mod:`crypto.cms.envelope_reader` -- ``peek_envelope``, ``open_envelope`` (+ ``_to_path``, ``_bytes``)
* :mod:`crypto.cms.timestamps` -- the :class:`TimeStamper` protocol and the pyHanko adapter
* :mod:`crypto.cms.stream` -- :class:`Limits` on untrusted input; :mod:`crypto.cms.errors` -- errors

Formats and interoperability with ``openssl cms`` are specified in ``docs/envelope.md``.
"""

from crypto.cms.attributes import Attribute
from crypto.cms.envelope_reader import (
    EnvelopeInfo,
    OpenedEnvelope,
    open_envelope,
    open_envelope_bytes,
    open_envelope_to_path,
    peek_envelope,
)
from crypto.cms.enveloped import SealResult, seal, seal_bytes
from crypto.cms.errors import (
    CmsError,
    DecryptionError,
    LimitExceeded,
    MalformedCms,
    NotARecipient,
    TimestampError,
    UnsupportedCms,
)
from crypto.cms.recipients import DecryptionKey, RecipientId
from crypto.cms.signing import (
    Signer,
    asign_attached,
    asign_attached_to,
    asign_detached,
    sign_attached,
    sign_attached_to,
    sign_detached,
)
from crypto.cms.stream import Limits
from crypto.cms.timestamps import (
    CertificateCheck,
    CheckResult,
    PyhankoTimeStamper,
    TimeStamper,
    TimestampVerdict,
)
from crypto.cms.verify import SignatureVerdict, averify_signed, verify_signed

__all__ = [
    "Attribute",
    "CertificateCheck",
    "CheckResult",
    "CmsError",
    "DecryptionError",
    "DecryptionKey",
    "EnvelopeInfo",
    "LimitExceeded",
    "Limits",
    "MalformedCms",
    "NotARecipient",
    "OpenedEnvelope",
    "PyhankoTimeStamper",
    "RecipientId",
    "SealResult",
    "SignatureVerdict",
    "Signer",
    "TimeStamper",
    "TimestampError",
    "TimestampVerdict",
    "UnsupportedCms",
    "asign_attached",
    "asign_attached_to",
    "asign_detached",
    "averify_signed",
    "open_envelope",
    "open_envelope_bytes",
    "open_envelope_to_path",
    "peek_envelope",
    "seal",
    "seal_bytes",
    "sign_attached",
    "sign_attached_to",
    "sign_detached",
    "verify_signed",
]
