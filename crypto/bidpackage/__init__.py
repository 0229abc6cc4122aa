"""The bid package (layer 1 of a sealed bid) and the sealed bid around it (layers 2 and 3).

* :mod:`crypto.bidpackage.manifest` -- :class:`Manifest` (``manifest.json``, RFC 8785 canonical JSON)
* :mod:`crypto.bidpackage.prices` -- the structured price form (decimal strings, never floats)
* :mod:`crypto.bidpackage.names` -- safe file names
* :mod:`crypto.bidpackage.writer` -- :func:`build_package`, streaming
* :mod:`crypto.bidpackage.reader` -- :func:`verify_package` on untrusted input, under :class:`PackageLimits`
* :mod:`crypto.bidpackage.sealing` -- :func:`seal_bid` (sign, optional bidder layer, seal)
* :mod:`crypto.bidpackage.opening` -- :func:`open_bid` -> :class:`BidVerdict`

The format is specified in ``docs/bid-format.md``.
"""

from crypto.bidpackage.errors import BidSealError, PackageError
from crypto.bidpackage.manifest import (
    MANIFEST_NAME,
    MANIFEST_TYPE,
    ClientInfo,
    FileEntry,
    Manifest,
    parse_manifest,
)
from crypto.bidpackage.names import check_name, check_names
from crypto.bidpackage.opening import BidVerdict, aopen_bid, open_bid
from crypto.bidpackage.prices import PriceForm, parse_decimal_price, price_forms_from_input
from crypto.bidpackage.reader import FILES_PREFIX, PackageLimits, verify_package
from crypto.bidpackage.sealing import SealedBid, certificate_uscc, check_opening_certificate_for, seal_bid
from crypto.bidpackage.writer import PackageFile, build_package

__all__ = [
    "FILES_PREFIX",
    "MANIFEST_NAME",
    "MANIFEST_TYPE",
    "BidSealError",
    "BidVerdict",
    "ClientInfo",
    "FileEntry",
    "Manifest",
    "PackageError",
    "PackageFile",
    "PackageLimits",
    "PriceForm",
    "SealedBid",
    "aopen_bid",
    "build_package",
    "certificate_uscc",
    "check_name",
    "check_names",
    "check_opening_certificate_for",
    "open_bid",
    "parse_decimal_price",
    "parse_manifest",
    "price_forms_from_input",
    "seal_bid",
    "verify_package",
]
