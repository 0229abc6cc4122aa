"""The log service: submit with the domain transaction, sequence in batches, sign, prove."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from crypto.checkpoint import Checkpoint, verify_checkpoint
from crypto.merkle import EMPTY_ROOT, leaf_hash, verify_consistency, verify_inclusion
from tendering.clock import ManualClock
from tendering.errors import InvalidInput, NotFound
from tendering.platform import Platform
from tendering.tasks import OutboxMessage
from tendering.translog import LogActor, LogEvent, TransparencyLog, service
from tendering.translog.entries import actor_commitment
from tendering.translog.models import LogAudit, LogCheckpoint, LogNode, LogPending
from tests.translog.helpers import all_entries, bid_event, memory_tree, submit_committed


def count(platform: Platform, model: type) -> int:
    with platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_new_log_has_signed_empty_checkpoint_and_genesis(platform: Platform) -> None:
    log = platform.translog
    head = log.checkpoint()
    assert head.size == 1  # genesis entry "log.created"
    with platform.session_factory() as session:
        empty = session.get(LogCheckpoint, 0)
    assert empty is not None
    assert bytes(empty.root) == EMPTY_ROOT
    verdict = verify_checkpoint(empty.note.encode(), log.verifier_key(), platform.settings.log_origin)
    assert verdict.ok
    assert verdict.checkpoint == Checkpoint(platform.settings.log_origin, 0, EMPTY_ROOT)
    genesis = json.loads(all_entries(platform)[0][1])
    assert genesis["type"] == "log.created"
    assert genesis["data"] == {"origin": platform.settings.log_origin, "verifier_key": log.verifier_key()}


def test_checkpoint_signature_verifies(platform: Platform) -> None:
    submit_committed(platform, 3)
    platform.translog.sequence()
    head = platform.translog.checkpoint()
    verdict = verify_checkpoint(
        head.note.encode(), platform.translog.verifier_key(), platform.settings.log_origin
    )
    assert verdict.ok, verdict.reasons
    assert verdict.checkpoint == Checkpoint(platform.settings.log_origin, 4, head.root)
    other = verify_checkpoint(head.note.encode(), platform.translog.verifier_key(), "someone.else/log")
    assert not other.ok


def test_rolled_back_submit_leaves_nothing(platform: Platform) -> None:
    platform.translog.checkpoint()
    with pytest.raises(RuntimeError), platform.transaction() as session:
        platform.translog.submit(session, bid_event(1))
        raise RuntimeError("the state change failed")
    assert count(platform, LogPending) == 0
    assert count(platform, OutboxMessage) == 0
    assert platform.translog.sequence() == 0
    assert platform.translog.checkpoint().size == 1


def test_submit_inside_outer_rolled_back_transaction(platform: Platform, db_session) -> None:  # type: ignore[no-untyped-def]
    platform.translog.submit(db_session, bid_event(1))
    db_session.flush()
    assert db_session.scalar(select(func.count()).select_from(LogPending)) == 1
    # db_session is rolled back by its fixture; another connection sees nothing meanwhile
    assert count(platform, LogPending) == 0


@pytest.fixture
def nudges(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sequencer nudges sent (instead of sending them)."""
    sent: list[str] = []
    actor = platform.tasks._actors["translog.sequence"]
    monkeypatch.setattr(actor, "send", lambda *a, **k: sent.append("translog.sequence"))
    return sent


def test_one_sequencing_nudge_per_committed_transaction(platform: Platform, nudges: list[str]) -> None:
    with platform.transaction() as session:
        for n in range(5):
            platform.translog.submit(session, bid_event(n))
    with platform.transaction() as session:
        platform.translog.submit(session, bid_event(9))
    with pytest.raises(RuntimeError), platform.transaction() as session:
        platform.translog.submit(session, bid_event(10))
        raise RuntimeError("rolled back: no nudge")
    assert nudges == ["translog.sequence", "translog.sequence"]
    assert count(platform, OutboxMessage) == 0  # a nudge costs no second write per transaction


def test_a_caller_that_waits_for_integration_itself_sends_no_nudge_and_is_integrated(
    platform: Platform, nudges: list[str]
) -> None:
    platform.translog.checkpoint()
    with platform.transaction() as session:
        submitted = platform.translog.submit(session, bid_event(1), nudge=False)
    assert nudges == []
    assert count(platform, LogPending) == 1  # pending until someone sequences: here the waiter
    index = platform.translog.wait_integrated(submitted.pending_id)
    assert index == platform.translog.checkpoint().size - 1
    assert count(platform, LogPending) == 0


def test_task_sequences_after_commit(platform: Platform) -> None:
    platform.translog.checkpoint()
    platform.tasks.start_worker(threads=1)
    submit_committed(platform, 4)
    platform.tasks.join()
    assert count(platform, LogPending) == 0
    assert platform.translog.checkpoint().size == 5


def test_sequence_in_batches_gap_free(platform: Platform, clock: ManualClock) -> None:
    log = platform.translog
    log.checkpoint()
    submit_committed(platform, 10)
    assert log.sequence(max_batch=3) == 10
    with platform.session_factory() as session:
        sizes = session.scalars(select(LogCheckpoint.size).order_by(LogCheckpoint.size)).all()
    assert sizes == [0, 1, 4, 7, 10, 11]
    entries = all_entries(platform)
    assert [index for index, _, _ in entries] == list(range(11))
    assert all(leaf_hash(entry) == h for _, entry, h in entries)
    tree = memory_tree([entry for _, entry, _ in entries])
    assert tree.root() == log.checkpoint().root
    assert count(platform, LogNode) == tree.node_count()
    assert count(platform, LogPending) == 0
    assert log.sequence() == 0  # idempotent
    assert count(platform, LogCheckpoint) == 6


def test_every_checkpoint_root_matches_its_prefix(platform: Platform) -> None:
    log = platform.translog
    for round_ in range(4):
        submit_committed(platform, round_ + 2, start=round_ * 10)
        log.sequence(max_batch=2)
    entries = [entry for _, entry, _ in all_entries(platform)]
    with platform.session_factory() as session:
        checkpoints = session.execute(select(LogCheckpoint.size, LogCheckpoint.root)).all()
    for size, root in checkpoints:
        expected = memory_tree(entries[:size]).root() if size else EMPTY_ROOT
        assert bytes(root) == expected, size


def test_wait_integrated_returns_the_index(platform: Platform) -> None:
    ids = submit_committed(platform, 3)
    index = platform.translog.wait_integrated(ids[1])
    assert index == 2  # after the genesis entry and ids[0]
    assert platform.translog.wait_integrated(ids[1]) == 2
    assert json.loads(platform.translog.entry(index).entry)["data"] == bid_event(1).data
    with pytest.raises(NotFound):
        platform.translog.wait_integrated(10_000)


def test_entries_name_no_bidder_and_commitment_opens(platform: Platform) -> None:
    ids = submit_committed(platform, 1)
    index = platform.translog.wait_integrated(ids[0])
    entry = platform.translog.entry(index).entry
    assert b"identity-0" not in entry and b"10.0.0.0" not in entry
    document = json.loads(entry)
    assert document["actor"]["role"] == "tenderer" and "operator" not in document["actor"]
    with platform.session_factory() as session:
        audit = session.get(LogAudit, index)
    assert audit is not None
    assert (audit.operator, audit.role, audit.address) == ("identity-0", "tenderer", "10.0.0.0")
    assert (
        actor_commitment(bytes(audit.salt), audit.operator, audit.address) == document["actor"]["commitment"]
    )
    assert actor_commitment(bytes(audit.salt), "identity-1", audit.address) != document["actor"]["commitment"]


def test_public_roles_are_named_and_private_ones_refused(platform: Platform) -> None:
    agency = LogActor("agency", "agency-7", "192.0.2.1", public=True)
    with platform.transaction() as session:
        submitted = platform.translog.submit(session, LogEvent("tender.published", agency, "t-1", {"n": 1}))
    index = platform.translog.wait_integrated(submitted.pending_id)
    assert json.loads(platform.translog.entry(index).entry)["actor"]["operator"] == "agency-7"
    for role in ("tenderer", "expert", "custodian"):
        with pytest.raises(InvalidInput, match="never be named"), platform.transaction() as session:
            platform.translog.submit(
                session, LogEvent("bid.submitted", LogActor(role, "x", None, public=True))
            )


@pytest.mark.parametrize(
    "data",
    [
        {"price": 12.5},
        {"blob": b"\x00\x01"},
        {"when": object()},
        {"nested": {"deep": [1, 2, {"x": {1, 2}}]}},
        {1: "non-string key"},
        {"big": 2**60},
        {"text": "x" * 20_000},
    ],
)
def test_data_that_is_not_plain_json_is_refused(platform: Platform, data: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput), platform.transaction() as session:
        platform.translog.submit(session, LogEvent("bid.submitted", LogActor("tenderer"), None, data))
    assert count(platform, LogPending) == 0


@pytest.mark.parametrize("event_type", ["", "Bid.Submitted", "bid", "bid submitted", "x." + "y" * 80])
def test_bad_event_types_are_refused(platform: Platform, event_type: str) -> None:
    with pytest.raises(InvalidInput), platform.transaction() as session:
        platform.translog.submit(session, LogEvent(event_type, LogActor("tenderer")))


def test_entry_time_comes_from_the_clock(platform: Platform, clock: ManualClock) -> None:
    ids = submit_committed(platform, 1)
    document = json.loads(platform.translog.entry(platform.translog.wait_integrated(ids[0])).entry)
    assert document["time"] == "2026-01-05T01:00:00.000Z"
    assert document["v"] == 1 and document["tender"] == "t-0001"


class _Calls:
    """Counts the sequencer passes and database look-ups of one log (still doing them)."""

    def __init__(self, log: TransparencyLog, monkeypatch: pytest.MonkeyPatch) -> None:
        self.passes = 0
        self.lookups = 0
        sequence, lookup = log._sequence_locked, log._index_of_pending

        def counted_sequence(max_batch: int | None, max_batches: int) -> int:
            self.passes += 1
            return sequence(max_batch, max_batches)

        def counted_lookup(pending_id: int) -> int | None:
            self.lookups += 1
            return lookup(pending_id)

        monkeypatch.setattr(log, "_sequence_locked", counted_sequence)
        monkeypatch.setattr(log, "_index_of_pending", counted_lookup)


def _indexes(platform: Platform) -> dict[int, int]:
    with platform.session_factory() as session:
        return dict(session.execute(select(LogAudit.pending_id, LogAudit.leaf_index)).all())


def test_a_waiter_whose_entry_this_process_integrated_neither_sequences_nor_queries(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = platform.translog
    ids = submit_committed(platform, 3)
    log.sequence()  # another waiter's batch (or the task) integrated all three
    calls = _Calls(log, monkeypatch)
    expected = _indexes(platform)
    assert [log.wait_integrated(i) for i in ids] == [expected[i] for i in ids] == [1, 2, 3]
    assert (calls.passes, calls.lookups) == (0, 0)
    # each is remembered for its one waiter: asked again, the answer comes from the database
    assert log.wait_integrated(ids[1]) == 2
    assert calls.lookups == 1


def test_a_waiter_whose_entry_is_pending_sequences_it_and_needs_no_query(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = platform.translog
    log.checkpoint()
    ids = submit_committed(platform, 2)
    calls = _Calls(log, monkeypatch)
    assert log.wait_integrated(ids[1]) == 2
    assert (calls.passes, calls.lookups) == (1, 0)
    assert count(platform, LogPending) == 0  # the pass integrated ids[0] too, found without a query
    assert log.wait_integrated(ids[0]) == 1
    assert (calls.passes, calls.lookups) == (1, 0)


def test_a_waiter_whose_entry_another_process_integrated_finds_it_in_the_database(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = platform.translog
    ids = submit_committed(platform, 2)
    other = TransparencyLog(platform.settings, platform.session_factory, platform.clock)
    other.sequence()  # another server process's sequencer
    calls = _Calls(log, monkeypatch)
    assert log.wait_integrated(ids[0]) == _indexes(platform)[ids[0]] == 1
    assert (calls.passes, calls.lookups) == (1, 1)  # an empty pass, then the look-up
    assert other.wait_integrated(ids[1]) == 2


def test_a_process_remembers_only_the_latest_integrated_entries(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "RECENT_LIMIT", 3)
    log = platform.translog
    ids = submit_committed(platform, 5)
    log.sequence()
    assert list(log._recent) == ids[2:]  # the oldest two were let go
    calls = _Calls(log, monkeypatch)
    assert log.wait_integrated(ids[0]) == 1  # let go: found in the database after an empty pass
    assert log.wait_integrated(ids[4]) == 5
    assert (calls.passes, calls.lookups) == (1, 1)


def test_a_rolled_back_submission_is_not_found_after_one_pass(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = platform.translog
    log.checkpoint()
    with pytest.raises(RuntimeError), platform.transaction() as session:
        rolled_back = log.submit(session, bid_event(1)).pending_id
        raise RuntimeError("the bid could not be recorded")
    calls = _Calls(log, monkeypatch)
    with pytest.raises(NotFound, match="neither pending nor integrated"):
        log.wait_integrated(rolled_back)
    assert (calls.passes, calls.lookups) == (1, 1)
    assert log.checkpoint().size == 1  # nothing was integrated for it


def test_receipt_material_is_the_entry_with_its_proof_in_the_latest_checkpoint(platform: Platform) -> None:
    ids = submit_committed(platform, 5)
    index = platform.translog.wait_integrated(ids[2])
    head, proof, entry = platform.translog.receipt_material(index)
    assert head == platform.translog.checkpoint()
    assert (proof.index, proof.size, proof.root) == (index, head.size, head.root)
    assert entry == platform.translog.entry(index)
    assert json.loads(entry.entry)["data"] == bid_event(2).data
    assert verify_inclusion(entry.leaf_hash, index, head.size, proof.proof, head.root).ok
    with platform.session_factory() as session:  # read in the caller's session, as a receipt does
        assert platform.translog.receipt_material(index, session) == (head, proof, entry)
        with pytest.raises(NotFound):
            platform.translog.receipt_material(head.size, session)
    with pytest.raises(NotFound):
        platform.translog.receipt_material(head.size)  # not in the log yet
    with pytest.raises(NotFound):
        platform.translog.receipt_material(-1)


def test_proofs_verify_for_many_sizes(platform: Platform) -> None:
    log = platform.translog
    roots = {}
    for step in range(12):
        submit_committed(platform, step % 3 + 1, start=step * 10)
        head = log.sequence_now()
        roots[head.size] = head.root
    entries = all_entries(platform)
    sizes = sorted(roots)
    for size in sizes:
        for index in range(size):
            proof = log.inclusion_proof(index, size)
            assert proof.root == roots[size]
            verdict = verify_inclusion(entries[index][2], index, size, proof.proof, roots[size])
            assert verdict.ok, (index, size, verdict.reason)
        for first in sizes:
            if first <= size:
                cons = log.consistency_proof(first, size)
                assert verify_consistency(first, size, cons.proof, roots[first], roots[size]).ok
    by_hash = log.inclusion_proof_by_hash(entries[5][2], sizes[-1])
    assert by_hash.index == 5


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda log: log.entries(-1, 3), "negative"),
        (lambda log: log.entries(5, 5), "greater than start"),
        (lambda log: log.entries(0, 1001), "at most 1000"),
        (lambda log: log.entries(50, 60), "not below the log size"),
        (lambda log: log.inclusion_proof(5, 3), "not in the tree"),
        (lambda log: log.inclusion_proof(0, 99), "larger than the log"),
        (lambda log: log.inclusion_proof(0, 0), "at least 1"),
        (lambda log: log.consistency_proof(0, 3), "empty tree"),
        (lambda log: log.consistency_proof(4, 3), "larger than second"),
        (lambda log: log.consistency_proof(1, 99), "larger than the log"),
    ],
)
def test_bad_ranges_are_invalid_input(platform: Platform, call, message: str) -> None:  # type: ignore[no-untyped-def]
    submit_committed(platform, 5)
    platform.translog.sequence()
    with pytest.raises(InvalidInput, match=message):
        call(platform.translog)


def test_entries_page_is_clipped_to_the_log(platform: Platform) -> None:
    submit_committed(platform, 5)
    platform.translog.sequence()
    head, rows = platform.translog.entries(4, 100)
    assert head.size == 6
    assert [row.index for row in rows] == [4, 5]
