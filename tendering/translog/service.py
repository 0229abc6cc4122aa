"""The transparency log service: submit inside domain transactions, sequence, read, prove.

Domain code calls :meth:`TransparencyLog.submit` inside its own transaction; the event becomes a
``log_pending`` row that commits or rolls back with the state change it records, and a
``translog.sequence`` task leaves through the outbox after the commit. The single sequencer
(:meth:`TransparencyLog.sequence`, run by that task, by the worker loop and by callers that need an
index at once) integrates pending rows in batches, one transaction and one signed checkpoint per batch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crypto.merkle import consistency_proof, inclusion_proof, leaf_hash, root_hash
from crypto.signednote import NoteSigner
from tendering.errors import InvalidInput, NotFound
from tendering.tasks import nudge_after_commit
from tendering.translog.bulk import bulk_insert
from tendering.translog.entries import LogEvent, prepare_entry
from tendering.translog.keys import load_signer
from tendering.translog.models import LogAudit, LogEntry, LogPending
from tendering.translog.store import DbNodeStore, Head, read_head, sequence_batch, table_of

if TYPE_CHECKING:
    from tendering.clock import Clock
    from tendering.settings import Settings

SEQUENCE_TASK: Final = "translog.sequence"
PAGE_LIMIT: Final = 1000
"""Most entries one :meth:`TransparencyLog.entries` call returns."""
RECENT_LIMIT: Final = 4096
"""Most (pending id, index) pairs a process remembers of the entries its own sequencer integrated."""


def _range_error(detail: str) -> InvalidInput:
    return InvalidInput(detail, code="log-range")


@dataclass(frozen=True)
class Submitted:
    """A queued event: its pending id (for :meth:`TransparencyLog.wait_integrated`), bytes, leaf hash."""

    pending_id: int
    entry: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class StoredEntry:
    """A sequenced entry as served: index, canonical bytes and the recorded leaf hash."""

    index: int
    entry: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class InclusionProof:
    """The RFC 9162 inclusion proof of ``index`` in the tree of ``size`` (whose root is ``root``)."""

    index: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]
    root: bytes


@dataclass(frozen=True)
class ConsistencyProof:
    """The RFC 9162 consistency proof from tree size ``first`` to ``second``."""

    first: int
    second: int
    proof: list[bytes]


class TransparencyLog:
    """The log of one platform: built from settings, a session factory and the clock."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        clock: Clock,
        *,
        trigger_task: bool = True,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.clock = clock
        #: Enqueue a ``translog.sequence`` task with every submitting transaction. Off only where a
        #: dedicated loop runs the sequencer (benchmarks, a sequencer process).
        self.trigger_task = trigger_task
        self._signer: NoteSigner | None = None
        self._key_lock = threading.Lock()
        self._sequencer_lock = threading.Lock()
        #: Pending id -> index of entries this process's sequencer integrated (committed), newest
        #: last, at most :data:`RECENT_LIMIT`: a waiter finds its entry here without a query. Guarded
        #: by ``_sequencer_lock``; entries integrated elsewhere are looked up in the database.
        self._recent: OrderedDict[int, int] = OrderedDict()

    # Keys ------------------------------------------------------------------------------------

    @property
    def signer(self) -> NoteSigner:
        """The log's signer (loaded, or created outside production, on first use)."""
        with self._key_lock:
            if self._signer is None:
                self._signer = load_signer(self.settings)
            return self._signer

    def verifier_key(self) -> str:
        """The C2SP verifier key text monitors pin: ``<origin>+<key id>+<base64 key>``."""
        return self.signer.verifier().to_text()

    # Writing ---------------------------------------------------------------------------------

    def submit(self, session: Session, event: LogEvent, *, nudge: bool = True) -> Submitted:
        """Queue ``event`` in ``session``'s transaction; it is logged only if that transaction commits.

        ``event.data`` must hold hashes, counts, ids and commitments only: never confidential content.
        Raises :class:`~tendering.errors.InvalidInput` for a malformed event. ``nudge=False`` is for a
        caller that calls :meth:`wait_integrated` as soon as the transaction commits (a receipt): it
        sequences the entry itself, so waking the sequencer task too would only add an empty pass
        (should the caller die in between, the maintenance round's log sequencer integrates the entry).
        """
        return self.submit_many(session, [event], nudge=nudge)[0]

    def submit_many(
        self, session: Session, events: Iterable[LogEvent], *, nudge: bool = True
    ) -> list[Submitted]:
        """Queue several events in ``session``'s transaction, in order (one bulk insert)."""
        now = self.clock.now()
        prepared = [prepare_entry(event, now) for event in events]
        if not prepared:
            return []
        rows = [
            {
                "entry": p.entry,
                "operator": p.operator,
                "role": p.role,
                "address": p.address,
                "salt": p.salt,
                "created_at": p.time,
            }
            for p in prepared
        ]
        returned = bulk_insert(session, table_of(LogPending), rows, returning=("id", "salt"))
        ids = {bytes(salt): pending_id for pending_id, salt in returned}  # salts are unique random bytes
        if self.trigger_task and nudge:
            self._trigger_after_commit(session)
        return [Submitted(ids[p.salt], p.entry, leaf_hash(p.entry)) for p in prepared]

    def _trigger_after_commit(self, session: Session) -> None:
        # The pending rows are durable and the worker loop sequences periodically, so a nudge (no
        # outbox row) is enough: a lost one delays integration, never loses an entry.
        nudge_after_commit(session, SEQUENCE_TASK)

    def sequence(self, max_batch: int | None = None, max_batches: int = 1_000_000) -> int:
        """Integrate pending entries, one transaction per batch, until none is left.

        Idempotent: with nothing pending it changes nothing (except the very first call, which
        initialises the empty log). Returns the number of entries integrated.
        """
        with self._sequencer_lock:
            return self._sequence_locked(max_batch, max_batches)

    def _sequence_locked(self, max_batch: int | None, max_batches: int) -> int:
        """:meth:`sequence` with ``_sequencer_lock`` held by the caller."""
        batch = max_batch or self.settings.log_batch_size
        total = 0
        for _ in range(max_batches):
            with self.session_factory() as session, session.begin():
                result = sequence_batch(
                    session,
                    origin=self.settings.log_origin,
                    signer=self.signer,
                    now=self.clock.now(),
                    max_batch=batch,
                )
            if result is None:
                break
            self._remember(result.size - len(result.pending_ids), result.pending_ids)  # committed
            total += result.count
            if result.count < batch:
                break
        return total

    def _remember(self, first: int, pending_ids: tuple[int, ...]) -> None:
        """Record that ``pending_ids`` became entries ``first``, ``first + 1``, ... (lock held)."""
        recent = self._recent
        for offset, pending_id in enumerate(pending_ids):
            recent[pending_id] = first + offset
        while len(recent) > RECENT_LIMIT:
            recent.popitem(last=False)

    def sequence_now(self) -> Head:
        """Integrate everything pending now and return the new latest checkpoint."""
        self.sequence()
        return self.checkpoint()

    def wait_integrated(self, pending_id: int) -> int:
        """Return the index of the entry queued as ``pending_id`` (sequencing it now if needed).

        The submitting transaction must have committed; raises :class:`NotFound` otherwise.

        Many submissions wait at once: the first to get the lock integrates everything pending and
        the others find their entry among those this process just integrated, without a query. One
        whose entry is still pending sequences it; only one whose entry was integrated by another
        process (or is unknown) asks the database, once that pass found nothing more to do.
        """
        with self._sequencer_lock:
            index = self._recent.pop(pending_id, None)
            if index is None:
                self._sequence_locked(None, 1_000_000)
                index = self._recent.pop(pending_id, None)
            if index is None:
                index = self._index_of_pending(pending_id)
        if index is None:
            raise NotFound(f"log submission {pending_id} is neither pending nor integrated (rolled back?)")
        return index

    def _index_of_pending(self, pending_id: int) -> int | None:
        with self.session_factory() as session:
            index: int | None = session.scalar(
                select(LogAudit.leaf_index).where(LogAudit.pending_id == pending_id)
            )
            return index

    # Reading ---------------------------------------------------------------------------------

    def checkpoint(self) -> Head:
        """The latest signed checkpoint (the first call on a new log initialises it)."""
        with self.session_factory() as session:
            head = read_head(session)
        if head is None:
            self.sequence()
            with self.session_factory() as session:
                head = read_head(session)
        assert head is not None
        return head

    def entries(self, start: int, end: int | None = None) -> tuple[Head, list[StoredEntry]]:
        """Entries ``[start, end)`` (at most :data:`PAGE_LIMIT`; ``end`` is clipped to the log size)."""
        head = self.checkpoint()
        if start < 0:
            raise _range_error(f"start must not be negative, got {start}")
        if start >= head.size:
            raise _range_error(f"start {start} is not below the log size {head.size}")
        end = min(start + PAGE_LIMIT, head.size) if end is None else end
        if end <= start:
            raise _range_error(f"end {end} must be greater than start {start}")
        if end - start > PAGE_LIMIT:
            raise _range_error(f"at most {PAGE_LIMIT} entries per request; asked for {end - start}")
        end = min(end, head.size)
        with self.session_factory() as session:
            rows = session.execute(
                select(LogEntry.leaf_index, LogEntry.entry, LogEntry.leaf_hash)
                .where(LogEntry.leaf_index >= start, LogEntry.leaf_index < end)
                .order_by(LogEntry.leaf_index)
            ).all()
        return head, [StoredEntry(row[0], bytes(row[1]), bytes(row[2])) for row in rows]

    def entry(self, index: int) -> StoredEntry:
        """The entry at ``index``; :class:`NotFound` beyond the log."""
        if index < 0:
            raise _range_error(f"index must not be negative, got {index}")
        if index >= 2**63:  # beyond any database integer, so beyond the log
            raise NotFound(f"the log has no entry {index}")
        with self.session_factory() as session:
            return _stored_entry(session, index)

    def _tree_size(self, size: int | None, head: Head, what: str = "size") -> int:
        if size is None:
            return head.size
        if size < 1:
            raise _range_error(f"{what} must be at least 1, got {size}")
        if size > head.size:
            raise _range_error(f"{what} {size} is larger than the log ({head.size} entries)")
        return size

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """The inclusion proof of entry ``index`` in the tree of ``size`` (default: the latest)."""
        head = self.checkpoint()
        tree = self._tree_size(size, head)
        if not 0 <= index < tree:
            raise _range_error(f"index {index} is not in the tree of size {tree}")
        with self.session_factory() as session:
            return _inclusion(session, index, tree, head)

    def receipt_material(
        self, index: int, session: Session | None = None
    ) -> tuple[Head, InclusionProof, StoredEntry]:
        """The latest checkpoint, entry ``index``'s inclusion proof in it and the entry, in one session.

        What a receipt embeds (:meth:`checkpoint`, :meth:`inclusion_proof`, :meth:`entry` would take
        four sessions), read in ``session`` when given (the receipt's own transaction) or in a new one;
        :class:`NotFound` when ``index`` is not in the log yet.
        """
        if session is None:
            with self.session_factory() as own:
                return self.receipt_material(index, own)
        head = read_head(session)
        if head is None or not 0 <= index < head.size:
            raise NotFound(f"the log has no entry {index} yet")
        return head, _inclusion(session, index, head.size, head), _stored_entry(session, index)

    def inclusion_proof_by_hash(self, leaf: bytes, size: int | None = None) -> InclusionProof:
        """The inclusion proof of the entry whose leaf hash is ``leaf``."""
        if len(leaf) != 32:
            raise InvalidInput("a leaf hash is 32 bytes (64 hex digits)")
        with self.session_factory() as session:
            index = session.scalar(select(LogEntry.leaf_index).where(LogEntry.leaf_hash == leaf))
        if index is None:
            raise NotFound(f"no log entry has the leaf hash {leaf.hex()}")
        head = self.checkpoint()
        tree = self._tree_size(size, head)
        if index >= tree:
            raise NotFound(f"the entry with that leaf hash is entry {index}, not in the tree of size {tree}")
        return self.inclusion_proof(index, tree)

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """The consistency proof from tree size ``first`` to ``second`` (default: the latest)."""
        head = self.checkpoint()
        tree = self._tree_size(second, head, "second")
        if first < 1:
            raise _range_error("first must be at least 1: no consistency proof from the empty tree exists")
        if first > tree:
            raise _range_error(f"first {first} is larger than second {tree}")
        with self.session_factory() as session:
            proof = consistency_proof(DbNodeStore(session), first, tree)
        return ConsistencyProof(first, tree, proof)


def _stored_entry(session: Session, index: int) -> StoredEntry:
    row = session.execute(
        select(LogEntry.leaf_index, LogEntry.entry, LogEntry.leaf_hash).where(LogEntry.leaf_index == index)
    ).first()
    if row is None:
        raise NotFound(f"the log has no entry {index}")
    return StoredEntry(row[0], bytes(row[1]), bytes(row[2]))


def _inclusion(session: Session, index: int, tree: int, head: Head) -> InclusionProof:
    """Entry ``index``'s inclusion proof in the tree of size ``tree`` (``head`` gives the latest root)."""
    store = DbNodeStore(session)
    leaf = store.get_nodes([(0, index)]).get((0, index))
    if leaf is None:
        raise NotFound(f"the log has no leaf {index}")
    proof = inclusion_proof(store, index, tree)
    root = head.root if tree == head.size else root_hash(store, tree)
    return InclusionProof(index, tree, leaf, proof, root)
