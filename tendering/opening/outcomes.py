"""Which outcome an envelope gets, decided by recorded facts (Measures Art. 31).

A failure caused by the bidder counts as revocation of its bid (撤销): an unsigned or badly signed
bid, a signing certificate that was not valid at signing time, a certificate that is not the
bidder's, a damaged package, a package for another tender, a bidder layer not decrypted in time or
with a wrong key. A failure caused by anyone else counts as withdrawal (撤回): the platform cannot
read the stored envelope, or the envelope does not open with the tender's opening key although the
server accepted it as addressed to that key (the bidder cannot be blamed for what the platform
accepted). A bid the bidder withdrew before the deadline is withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from crypto.bidpackage import BidVerdict
from tendering.i18n import DEFAULT_LOCALE, Catalog
from tendering.opening.models import Outcome

#: Verdict codes of :func:`crypto.bidpackage.open_bid` that are the bidder's fault.
BIDDER_FAULTS: Final = frozenset(
    {
        "not-signed",
        "signature-invalid",
        "timestamp-invalid",
        "signer-untrusted",
        "package-invalid",
        "bidder-mismatch",
        "tender-mismatch",
        "bidder-layer-not-opened",
        "bidder-layer-not-decrypted",
    }
)
#: Codes that are someone else's fault (the platform's storage, the opening key).
OTHER_FAULTS: Final = frozenset({"envelope-missing", "envelope-not-opened", "envelope-not-addressed"})
WITHDRAWN_BEFORE_DEADLINE: Final = "withdrawn-before-deadline"


@dataclass(frozen=True)
class Decision:
    """An envelope's outcome with a stable reason code and the recorded sentence (default locale)."""

    outcome: Outcome
    reason_code: str
    reason: str


def reason_text(code: str, locale: str = DEFAULT_LOCALE) -> str:
    """The sentence recorded for ``code`` (``opening.reason.<code>`` in the catalogs)."""
    return Catalog(locale).optional("opening.reason", code)


def decide(code: str | None) -> Decision:
    """The outcome of a verdict code (``None``: opened). Unknown codes count as the platform's fault."""
    if code is None:
        return Decision(Outcome.OPENED, "opened", reason_text("opened"))
    if code == "envelope-not-addressed":
        code = "envelope-not-opened"
    if code in BIDDER_FAULTS:
        return Decision(Outcome.REVOKED, code, reason_text(code))
    if code == WITHDRAWN_BEFORE_DEADLINE:
        return Decision(Outcome.WITHDRAWN, code, reason_text(code))
    return Decision(Outcome.WITHDRAWN, code, reason_text(code))


def verdict_code(verdict: BidVerdict) -> str | None:
    """The code an opening verdict is decided by (``bidder-layer-locked`` is not a failure: the
    bidder decrypts that layer in the decryption window)."""
    return None if verdict.ok else verdict.code
