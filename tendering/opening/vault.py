"""Where released shares live: in the memory of the process that runs the opening, and nowhere else.

Design (``docs/opening.md``, "Where the shares are held"): a released share is checked against its
commitment and then held only in this process's memory, keyed by tender and share index. The
database keeps the custodian's signed release *statement*, which names the share's commitment but
not the share. When k shares are held the opening key is rebuilt in memory, checked against the
opening certificate, used, and dropped together with the shares. Nothing secret is ever written to
disk, encrypted or not, so no backup, swap-free crash dump or later disk image can rebuild the key and
open a withdrawn or replaced envelope.

The price is paid on a crash: a process that dies mid-opening loses the shares it held. The opening's
progress is in the database (every decided envelope), so it resumes exactly where it stopped as soon
as k custodians release again (``sealbid custodian release`` is safe to repeat: a repeated release is
recorded once and only re-held in memory).

One vault belongs to one :class:`~tendering.platform.Platform` (one process); it is attached to it
on first use. Releases must therefore reach the process that runs the opening: ``sealbid serve``
runs the application in one process.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from crypto.ceremony import SharePlaintext, rebuild_opening_key

if TYPE_CHECKING:
    from tendering.platform import Platform

_ATTRIBUTE: Final = "_sealbid_opening_vault"


class ShareVault:
    """Released shares per tender, in memory; also the per-tender opening threads of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shares: dict[uuid.UUID, dict[int, SharePlaintext]] = {}
        self._runners: dict[uuid.UUID, threading.Thread] = {}

    def hold(self, tender_id: uuid.UUID, share: SharePlaintext) -> int:
        """Keep a checked share; returns how many distinct shares are held for the tender."""
        with self._lock:
            held = self._shares.setdefault(tender_id, {})
            held[share.index] = share
            return len(held)

    def held(self, tender_id: uuid.UUID) -> tuple[int, ...]:
        """The share indexes held for a tender (never the shares)."""
        with self._lock:
            return tuple(sorted(self._shares.get(tender_id, {})))

    def rebuild(
        self, tender_id: uuid.UUID, certificate: x509.Certificate, commitments: Mapping[int, str]
    ) -> ec.EllipticCurvePrivateKey:
        """The opening key from the held shares, checked against commitments and certificate.

        Raises :class:`~crypto.ceremony.CeremonyError` when fewer than k are held or they do not fit.
        """
        with self._lock:
            shares = list(self._shares.get(tender_id, {}).values())
        return rebuild_opening_key(shares, certificate, commitments=commitments)

    def forget(self, tender_id: uuid.UUID) -> None:
        """Drop every share held for a tender (the opening is done)."""
        with self._lock:
            self._shares.pop(tender_id, None)

    def start(self, tender_id: uuid.UUID, work: Callable[[], object]) -> bool:
        """Run ``work`` in a thread unless one is already running for the tender; True if started."""
        with self._lock:
            running = self._runners.get(tender_id)
            if running is not None and running.is_alive():
                return False
            thread = threading.Thread(target=work, name=f"sealbid-opening-{tender_id}", daemon=True)
            self._runners[tender_id] = thread
            thread.start()
            return True

    def join(self, tender_id: uuid.UUID, timeout: float | None = None) -> None:
        """Wait for the tender's opening thread, if any (tests, the demo)."""
        with self._lock:
            thread = self._runners.get(tender_id)
        if thread is not None:
            thread.join(timeout)


def vault_of(platform: Platform) -> ShareVault:
    """The platform's share vault (created on first use; lives as long as the platform object)."""
    attributes = vars(platform)
    vault = attributes.get(_ATTRIBUTE)
    if not isinstance(vault, ShareVault):
        vault = attributes.setdefault(_ATTRIBUTE, ShareVault())
    assert isinstance(vault, ShareVault)
    return vault
