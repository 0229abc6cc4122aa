"""sealbid's PKI layer: certificate validation, a declarative PKI builder, OCSP/CRL and an RFC 3161 TSA.

* :mod:`crypto.pki.validation` -- :class:`CertificateChecker` and its :class:`CertVerdict`
* :mod:`crypto.pki.fetchers` -- where revocation data comes from (network or in-memory)
* :mod:`crypto.pki.spec`, :mod:`crypto.pki.authority` -- describe a PKI and build it
* :mod:`crypto.pki.revocation`, :mod:`crypto.pki.tsa` -- OCSP/CRL and time-stamping services
* :mod:`crypto.pki.storage` -- the on-disk layout; :mod:`crypto.pki.dev` -- the demo participants
"""

from crypto.pki.authority import BuiltPki, build_pki
from crypto.pki.credentials import CertKind, Credential
from crypto.pki.dev import dev_pki_spec
from crypto.pki.fetchers import (
    InMemoryRevocationFetching,
    NetworkRevocationFetching,
    RevocationFetching,
    RevocationResponder,
)
from crypto.pki.parsing import CertInput, MalformedCertificate
from crypto.pki.revocation import RevocationAuthority, RevocationStatus, UnknownEndpoint
from crypto.pki.spec import (
    CASpec,
    KeyType,
    LeafPurpose,
    LeafSpec,
    PkiSpec,
    Revocation,
    ServiceKind,
    ServiceSpec,
    SpecError,
    Validity,
)
from crypto.pki.storage import PkiStorageError
from crypto.pki.tsa import InProcessTimeStamper, TimeStampingAuthority
from crypto.pki.validation import (
    CacheStats,
    CertificateChecker,
    CertVerdict,
    Purpose,
    RevocationPolicy,
    VerdictReason,
)

__all__ = [
    "BuiltPki",
    "CASpec",
    "CacheStats",
    "CertInput",
    "CertKind",
    "CertVerdict",
    "CertificateChecker",
    "Credential",
    "InMemoryRevocationFetching",
    "InProcessTimeStamper",
    "KeyType",
    "LeafPurpose",
    "LeafSpec",
    "MalformedCertificate",
    "NetworkRevocationFetching",
    "PkiSpec",
    "PkiStorageError",
    "Purpose",
    "Revocation",
    "RevocationAuthority",
    "RevocationFetching",
    "RevocationPolicy",
    "RevocationResponder",
    "RevocationStatus",
    "ServiceKind",
    "ServiceSpec",
    "SpecError",
    "TimeStampingAuthority",
    "UnknownEndpoint",
    "Validity",
    "VerdictReason",
    "build_pki",
    "dev_pki_spec",
]
