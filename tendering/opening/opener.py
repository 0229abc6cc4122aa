"""Opening the envelopes once k shares are held: rebuild the key in memory, open, record, forget.

For each envelope still undecided (in a stable order) :func:`open_envelopes`:

1. streams the stored envelope from the blob store into :func:`crypto.bidpackage.open_bid` with the
   rebuilt key (the signer certificate is validated at the trusted signing time);
2. a bid with a bidder layer (Measures Art. 30) keeps its middle layer: it is stored in the blob store
   (it is still sealed to the bidder's own certificate) and waits for the bidder's decryption; the
   verified package (or the middle layer) is written once, into the run's scratch directory, while
   the envelope is read, and moves into the blob store with ``BlobStore.adopt`` (no second read);
3. records the outcome in its own transaction with a conditional update (``outcome IS NULL``), and logs
   ``opening.envelope_decided`` (envelope and package hashes, outcome, reason code) in that same
   transaction.

Crash safety: progress lives in the database only. A process killed between envelopes or in the
middle of one loses its in-memory shares and key (nothing of them is on disk); after k custodians
release again the opening resumes with the envelopes still undecided. An envelope is decided once
(the conditional update), none is skipped (the loop reads the undecided rows), and opening an
envelope has no other side effect than content-addressed blobs, so redoing an interrupted one is
harmless. When every envelope is decided (or waits for its bidder), the key and shares are dropped.
Decrypted files live only in a locked run directory under ``data_dir/opening-scratch``; every run
starts with :func:`clear_stale_scratch`, which removes what a killed run left there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update

from crypto.bidpackage import BidVerdict, open_bid
from tendering.bids.opening_key_models import TenderKeyShare, TenderOpeningKey
from tendering.errors import Conflict, NotFound
from tendering.identity.audit import Actor
from tendering.opening.models import Decryption, OpeningOutcome, OpeningSession, OpeningState
from tendering.opening.outcomes import Decision, decide
from tendering.opening.publication import publish_record
from tendering.opening.summaries import price_summary, signature_summary
from tendering.opening.vault import vault_of
from tendering.tenders.events import log_event
from tendering.tenders.models import Tender
from tendering.tenders.workflow import transition

if TYPE_CHECKING:
    from tendering.platform import Platform

STARTED_EVENT: Final = "opening.started"
DECIDED_EVENT: Final = "opening.envelope_decided"
WAITING_EVENT: Final = "opening.bidder_decryption"
FINISHED_EVENT: Final = "opening.finished"
SCRATCH_DIR: Final = "opening-scratch"
_RUN_PREFIX: Final = "run-"
_LOCK_SUFFIX: Final = ".lock"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpeningProgress:
    """Where a tender's opening is after a run."""

    tender_id: uuid.UUID
    state: str
    decided: int
    waiting_for_bidders: int
    undecided: int


class _Key:
    """The rebuilt opening key and its certificate, only for the duration of one run."""

    def __init__(self, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.certificate = certificate
        self.key: ec.EllipticCurvePrivateKey | None = key


def _rebuild(platform: Platform, tender_id: uuid.UUID) -> _Key:
    with platform.session_factory() as session:
        row = session.get(TenderOpeningKey, tender_id)
        if row is None:
            raise Conflict("the tender has no opening key", code="opening-key-missing")
        commitments = {
            s.share_index: s.commitment
            for s in session.scalars(select(TenderKeyShare).where(TenderKeyShare.tender_id == tender_id))
        }
        certificate = x509.load_der_x509_certificate(row.certificate_der)
    return _Key(certificate, vault_of(platform).rebuild(tender_id, certificate, commitments))


def _start(platform: Platform, tender_id: uuid.UUID) -> None:
    with platform.transaction() as session:
        row = session.get(OpeningSession, tender_id, with_for_update=True)
        if row is None or row.state not in (OpeningState.CLOSED, OpeningState.OPENING):
            state = row.state if row else "not closed"
            raise Conflict(f"the opening is {state}", code="opening-not-open", state=state)
        if row.state == OpeningState.CLOSED:
            row.state = OpeningState.OPENING
            row.opening_started_at = platform.clock.now()
            held = list(vault_of(platform).held(tender_id))
            log_event(platform, session, STARTED_EVENT, Actor.system(), tender_id, shares=held)


def certificate_check(platform: Platform) -> Any:
    """``check(certificate, at)`` for :func:`open_bid`: the platform's validation for signing at ``at``."""

    def check(certificate: x509.Certificate, at: datetime | None) -> Any:
        return platform.certificates.validate(certificate, purpose="signing", at=at)

    return check


def _open_one(platform: Platform, row: OpeningOutcome, key: _Key, workdir: Path) -> dict[str, Any]:
    """Open one envelope; the fields to record (``outcome`` None: waiting for the bidder's layer)."""
    assert key.key is not None
    try:
        source = platform.blobs.open(row.envelope_sha256)
    except (OSError, KeyError, ValueError, NotFound):
        return _platform_fault(row, "envelope-missing")
    package_path = workdir / f"{row.id}.zip"
    middle_path = workdir / f"{row.id}.p7m"
    with contextlib.closing(source), _removed(package_path, middle_path):
        verdict = open_bid(
            source,
            key.certificate,
            key.key,
            check_certificate=certificate_check(platform),
            expected_tender_id=str(row.tender_id),
            package_destination=package_path,
            middle_destination=middle_path,
            workdir=workdir,
        )
        if verdict.envelope_sha256 != row.envelope_sha256:
            return _platform_fault(row, "envelope-missing")  # the stored bytes changed
        if verdict.code == "bidder-layer-locked":
            # the middle layer (still sealed to the bidder) was written once, hashed as it was written
            if verdict.middle_sha256 is None:
                return _platform_fault(row, "envelope-not-opened")
            try:
                middle = platform.blobs.adopt(middle_path, sha256=verdict.middle_sha256).sha256
            except (OSError, NotFound):
                return _platform_fault(row, "envelope-not-opened")
            return {"outcome": None, "decryption": Decryption.PENDING, "middle_sha256": middle}
        fields = record_verdict(platform, verdict, package_path)
        if verdict.code in ("envelope-not-opened", "envelope-not-addressed"):
            return {**fields, **_platform_fault(row, "envelope-not-opened")}
        fields["decryption"] = Decryption.NOT_REQUIRED
        return fields


@contextlib.contextmanager
def _removed(*paths: Path) -> Iterator[None]:
    """Remove whichever of ``paths`` is still there afterwards (kept files were adopted)."""
    try:
        yield
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def _platform_fault(row: OpeningOutcome, code: str) -> dict[str, Any]:
    fields = decided_fields(decide(code))
    if row.decryption == Decryption.PENDING:
        fields["decryption"] = Decryption.OTHER_FAILED
    return fields


def record_verdict(platform: Platform, verdict: BidVerdict, package_path: Path | None) -> dict[str, Any]:
    """The fields of a decided envelope from its verdict (the package is kept if it verified).

    The package file that :func:`open_bid` wrote to ``package_path`` moves into the blob store by
    :meth:`~tendering.blobs.BlobStore.adopt` (fsynced there, not read again): its SHA-256 is the one
    the signature check computed over the same bytes.
    """
    fields = decided_fields(decide(None if verdict.ok else verdict.code))
    fields["signature"] = signature_summary(verdict)
    if verdict.manifest is not None:
        fields["price_form"] = price_summary(verdict.manifest)
    if verdict.ok and verdict.package_sha256 and package_path is not None and package_path.exists():
        fields["package_sha256"] = platform.blobs.adopt(package_path, sha256=verdict.package_sha256).sha256
    return fields


def decided_fields(decision: Decision) -> dict[str, Any]:
    """The outcome columns of a decision."""
    return {"outcome": decision.outcome, "reason_code": decision.reason_code, "reason": decision.reason}


def record(platform: Platform, row_id: uuid.UUID, fields: dict[str, Any]) -> bool:
    """Record an envelope's fields if it is still undecided (conditional update); logs the decision."""
    with platform.transaction() as session:
        now = platform.clock.now()
        values = dict(fields)
        if values.get("outcome") is not None:
            values["decided_at"] = now
        result = session.execute(
            update(OpeningOutcome)
            .where(OpeningOutcome.id == row_id, OpeningOutcome.outcome.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed = getattr(result, "rowcount", 0)
        if not changed:
            return False
        row = session.get(OpeningOutcome, row_id, populate_existing=True)
        assert row is not None
        if row.outcome is not None:
            log_event(
                platform,
                session,
                DECIDED_EVENT,
                Actor.system(),
                row.tender_id,
                bid=str(row.bid_id),
                version=row.version,
                envelope_sha256=row.envelope_sha256,
                package_sha256=row.package_sha256,
                outcome=row.outcome,
                reason_code=row.reason_code,
                decryption=row.decryption,
            )
        return True


def _pending(platform: Platform, tender_id: uuid.UUID) -> list[OpeningOutcome]:
    with platform.session_factory() as session:
        return list(
            session.scalars(
                select(OpeningOutcome)
                .where(
                    OpeningOutcome.tender_id == tender_id,
                    OpeningOutcome.outcome.is_(None),
                    OpeningOutcome.middle_sha256.is_(None),
                )
                .order_by(OpeningOutcome.envelope_sha256, OpeningOutcome.id)
            )
        )


def _scratch_root(platform: Platform) -> Path:
    path = platform.settings.data_dir / SCRATCH_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def opening_scratch(platform: Platform) -> Iterator[Path]:
    """A private scratch directory under ``data_dir/opening-scratch``, locked while it is in use.

    Decrypted packages and layers are written there before they are kept. The directory
    ``run-XXXX`` goes with its lock file ``run-XXXX.lock``, held (``flock``) for as long as the
    directory is in use: the kernel drops the lock when the process dies, however it dies, so
    :func:`clear_stale_scratch` can tell a killed run's leftovers from a live run's files.
    """
    root = _scratch_root(platform)
    while True:
        fd, name = tempfile.mkstemp(prefix=_RUN_PREFIX, suffix=_LOCK_SUFFIX, dir=root)
        fcntl.flock(fd, fcntl.LOCK_EX)
        lock = Path(name)
        with contextlib.suppress(FileNotFoundError):
            if lock.stat().st_ino == os.fstat(fd).st_ino:
                break  # not removed by a cleaner between mkstemp and flock
        os.close(fd)
    path = lock.with_suffix("")
    try:
        path.mkdir()
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        lock.unlink(missing_ok=True)
        os.close(fd)


def clear_stale_scratch(platform: Platform) -> int:
    """Remove what killed runs left in ``data_dir/opening-scratch``; returns how many runs were cleared.

    A run's directory is removed when nobody holds its lock (its process is gone); live runs of this
    or another process keep theirs. Runs at the start of every :func:`open_envelopes`, so a package
    decrypted by a process killed mid-envelope does not stay on disk.
    """
    root = _scratch_root(platform)
    cleared = 0
    for lock in sorted(root.glob(f"{_RUN_PREFIX}*{_LOCK_SUFFIX}")):
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live run
            shutil.rmtree(lock.with_suffix(""), ignore_errors=True)
            lock.unlink(missing_ok=True)
            cleared += 1
        finally:
            os.close(fd)
    for orphan in root.glob(f"{_RUN_PREFIX}*"):
        if orphan.is_dir() and not orphan.with_name(orphan.name + _LOCK_SUFFIX).exists():
            shutil.rmtree(orphan, ignore_errors=True)  # its lock went with a cleared run
    return cleared


def open_envelopes(platform: Platform, tender_id: uuid.UUID) -> OpeningProgress:
    """Rebuild the key from the held shares and decide every undecided envelope (resumable)."""
    key = _rebuild(platform, tender_id)
    try:
        _start(platform, tender_id)
        clear_stale_scratch(platform)
        with opening_scratch(platform) as workdir:
            for row in _pending(platform, tender_id):
                record(platform, row.id, _open_one(platform, row, key, workdir))
    finally:
        key.key = None
    vault_of(platform).forget(tender_id)
    return settle(platform, tender_id)


def settle(platform: Platform, tender_id: uuid.UUID) -> OpeningProgress:
    """Move the session on: wait for bidders' layers, or finish when every envelope is decided."""
    with platform.transaction() as session:
        opening = session.get(OpeningSession, tender_id, with_for_update=True)
        assert opening is not None
        rows = list(session.scalars(select(OpeningOutcome).where(OpeningOutcome.tender_id == tender_id)))
        waiting = [r for r in rows if r.outcome is None and r.middle_sha256 is not None]
        undecided = [r for r in rows if r.outcome is None and r.middle_sha256 is None]
        now = platform.clock.now()
        if not undecided and opening.state in (OpeningState.OPENING, OpeningState.BIDDER_DECRYPTION):
            if waiting and opening.state == OpeningState.OPENING:
                window = timedelta(minutes=platform.settings.opening.bidder_decryption_window_minutes)
                opening.state = OpeningState.BIDDER_DECRYPTION
                opening.decryption_deadline = now + window
                log_event(
                    platform,
                    session,
                    WAITING_EVENT,
                    Actor.system(),
                    tender_id,
                    bidders=len(waiting),
                    deadline=opening.decryption_deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
            elif not waiting:
                _finish(platform, session, opening, rows, now)
        progress = OpeningProgress(
            tender_id, opening.state, len(rows) - len(waiting) - len(undecided), len(waiting), len(undecided)
        )
    if progress.state == OpeningState.OPENED:
        publish_record(platform, tender_id)
    return progress


def _finish(
    platform: Platform, session: Any, opening: OpeningSession, rows: list[OpeningOutcome], now: datetime
) -> None:
    opening.state = OpeningState.OPENED
    opening.finished_at = now
    counts = {kind: sum(1 for r in rows if r.outcome == kind) for kind in ("opened", "revoked", "withdrawn")}
    outcomes = sorted(f"{r.envelope_sha256}:{r.outcome}" for r in rows)
    tender = session.get(Tender, opening.tender_id, with_for_update=True)
    assert tender is not None
    transition(
        platform,
        session,
        tender,
        "open",
        Actor.system(),
        details=counts,
        log_data={**counts, "outcomes_sha256": hashlib.sha256("\n".join(outcomes).encode()).hexdigest()},
    )


def open_in_background(platform: Platform, tender_id: uuid.UUID) -> bool:
    """Run :func:`open_envelopes` in a thread of this process (the one holding the shares).

    Returns False when an opening of this tender is already running here. A failure is logged; the
    shares stay held, so the next release (or a repeated one) starts the opening again.
    """

    def run() -> None:
        try:
            open_envelopes(platform, tender_id)
        except Exception:
            log.exception("the opening of tender %s stopped; it resumes with the next release", tender_id)

    return vault_of(platform).start(tender_id, run)
