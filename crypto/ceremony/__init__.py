"""The custodians' opening-key ceremony: formats, the ceremony itself, and share handling.

* :mod:`crypto.ceremony.certificate` -- the opening certificate (make, check)
* :mod:`crypto.ceremony.formats` -- the share plaintext and the bundle (canonical JSON, parsing)
* :mod:`crypto.ceremony.run` -- :func:`run_ceremony` and :func:`verify_bundle`
* :mod:`crypto.ceremony.shares` -- :func:`open_share`, :func:`check_share`, :func:`rebuild_opening_key`

Pure cryptography and formats (no database, no web). Specified in ``docs/ceremony.md``.
"""

from crypto.ceremony.certificate import (
    check_opening_certificate,
    default_validity,
    make_opening_certificate,
    tender_uri,
)
from crypto.ceremony.errors import CeremonyError, ShareCommitmentMismatch
from crypto.ceremony.formats import (
    BUNDLE_TYPE,
    MAX_BUNDLE_SIZE,
    MIN_THRESHOLD,
    SHARE_TYPE,
    BundleShare,
    OpeningKeyBundle,
    SharePlaintext,
    parse_bundle,
    sha256_hex,
)
from crypto.ceremony.run import (
    CeremonyOutput,
    CustodianRecipient,
    VerifiedBundle,
    run_ceremony,
    verify_bundle,
)
from crypto.ceremony.shares import check_share, open_share, rebuild_opening_key

__all__ = [
    "BUNDLE_TYPE",
    "MAX_BUNDLE_SIZE",
    "MIN_THRESHOLD",
    "SHARE_TYPE",
    "BundleShare",
    "CeremonyError",
    "CeremonyOutput",
    "CustodianRecipient",
    "OpeningKeyBundle",
    "ShareCommitmentMismatch",
    "SharePlaintext",
    "VerifiedBundle",
    "check_opening_certificate",
    "check_share",
    "default_validity",
    "make_opening_certificate",
    "open_share",
    "parse_bundle",
    "rebuild_opening_key",
    "run_ceremony",
    "sha256_hex",
    "tender_uri",
    "verify_bundle",
]
