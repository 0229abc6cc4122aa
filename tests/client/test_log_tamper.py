"""Tampering with the log's database directly is caught by ``sealbid log verify`` over real HTTP.

Each test serves the app with uvicorn, appends entries, runs the monitor once (state saved), then
edits the database with SQL as an operator with full access would, and runs the monitor again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from api.cli import main
from api.client.logstate import EXIT_NETWORK, EXIT_OK, EXIT_TAMPERED
from crypto.checkpoint import Checkpoint, sign_checkpoint
from crypto.merkle import MemoryNodeStore, leaf_hash
from crypto.signednote import NoteSigner, generate_signer, parse_signer_key
from tendering.platform import Platform
from tendering.translog.keys import load_signer
from tests.client.logserver import serve
from tests.translog.helpers import all_entries, submit_committed


@pytest.fixture
def served(platform: Platform) -> Iterator[str]:
    with serve(platform) as url:
        yield url


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "monitor.json"


def grow(platform: Platform, count: int, start: int = 0) -> None:
    submit_committed(platform, count, start)
    platform.translog.sequence()


def run(url: str, state: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["log", "verify", "--server", url, "--state", str(state), *extra])


def sql(platform: Platform, statement: str, **params: object) -> None:
    with platform.engine.begin() as conn:
        conn.execute(text(statement), params)


def rewrite_entry(platform: Platform, index: int, entry: bytes, *, with_leaf_hash: bool) -> None:
    if with_leaf_hash:
        sql(platform, "UPDATE log_entries SET entry = :e, leaf_hash = :h WHERE leaf_index = :i",
            e=entry, h=leaf_hash(entry), i=index)  # fmt: skip
    else:
        sql(platform, "UPDATE log_entries SET entry = :e WHERE leaf_index = :i", e=entry, i=index)


def rebuild_tree_and_resign(platform: Platform, signer: NoteSigner | None = None) -> None:
    """The clever attacker: recompute every node from the (rewritten) entries and sign a new checkpoint."""
    entries = [entry for _, entry, _ in all_entries(platform)]
    store = MemoryNodeStore()
    nodes = store.append_entries(entries)
    signer = signer or load_signer(platform.settings)
    note = sign_checkpoint(
        Checkpoint(platform.settings.log_origin, store.size, store.root()), signer
    ).decode()
    with platform.engine.begin() as conn:
        conn.execute(text("DELETE FROM log_nodes"))
        for (level, index), h in nodes:
            conn.execute(
                text("INSERT INTO log_nodes (level, node_index, hash) VALUES (:l, :i, :h)"),
                {"l": level, "i": index, "h": h},
            )
        conn.execute(text("DELETE FROM log_checkpoints"))
        conn.execute(
            text("INSERT INTO log_checkpoints (size, root, note, signed_at) VALUES (:s, :r, :n, :t)"),
            {"s": store.size, "r": store.root(), "n": note, "t": platform.clock.now()},
        )


def forged(entry: bytes) -> bytes:
    return entry.replace(b'"lots":["1"]', b'"lots":["2"]')


@pytest.fixture
def watched(platform: Platform, served: str, state: Path) -> str:
    """A log of 9 entries that the monitor has verified once."""
    grow(platform, 8)
    first = run(served, state)
    assert first.exit_code == EXIT_OK, first.output
    assert "size 9" in first.output
    return served


def assert_tampered(result: Result, *phrases: str) -> None:
    assert result.exit_code == EXIT_TAMPERED, result.output
    for phrase in phrases:
        assert phrase in result.output, result.output


def test_honest_log_verifies_again_and_after_growth(platform: Platform, watched: str, state: Path) -> None:
    assert run(watched, state).exit_code == EXIT_OK
    grow(platform, 5, start=100)
    result = run(watched, state)
    assert result.exit_code == EXIT_OK, result.output
    assert "size 9 -> 14" in result.output
    assert run(watched, state, "--full").exit_code == EXIT_OK


def test_rewritten_entry_bytes_are_caught(platform: Platform, watched: str, state: Path) -> None:
    entry = all_entries(platform)[4][1]
    rewrite_entry(platform, 4, forged(entry), with_leaf_hash=False)
    saved = state.read_bytes()
    result = run(watched, state, "--full")
    assert_tampered(result, "rewrote history", "entry 4 no longer hashes to")
    assert state.read_bytes() == saved  # never update the state after a failure


def test_default_run_catches_a_rewritten_old_entry_without_growth(
    platform: Platform, watched: str, state: Path
) -> None:
    # No --full and no new entries: a small log is still re-hashed whole on every run.
    entry = all_entries(platform)[2][1]
    rewrite_entry(platform, 2, forged(entry), with_leaf_hash=False)
    assert_tampered(run(watched, state), "rewrote history", "entry 2 no longer hashes to")


def test_incremental_run_only_checks_new_entries(platform: Platform, watched: str, state: Path) -> None:
    entry = all_entries(platform)[2][1]
    rewrite_entry(platform, 2, forged(entry), with_leaf_hash=False)
    # The documented trade-off of --incremental: old entries are not re-fetched.
    assert run(watched, state, "--incremental").exit_code == EXIT_OK


def test_rewritten_entry_without_leaf_sidecar_is_caught_by_the_root(
    platform: Platform, watched: str, state: Path
) -> None:
    state.with_suffix(".leaves").unlink()
    entry = all_entries(platform)[4][1]
    rewrite_entry(platform, 4, forged(entry), with_leaf_hash=True)
    assert_tampered(run(watched, state, "--full"), "first 9 entries no longer hash to the root")


def test_new_entries_that_do_not_hash_to_the_root_are_caught(
    platform: Platform, watched: str, state: Path
) -> None:
    grow(platform, 3, start=100)
    entry = all_entries(platform)[10][1]
    rewrite_entry(platform, 10, forged(entry), with_leaf_hash=True)
    assert_tampered(run(watched, state), "do not hash to its signed root")


def test_deleted_entry_is_caught(platform: Platform, watched: str, state: Path) -> None:
    sql(platform, "DELETE FROM log_audit WHERE leaf_index = 3")
    sql(platform, "DELETE FROM log_entries WHERE leaf_index = 3")
    assert_tampered(run(watched, state, "--full"), "entry 3 is missing")


def test_deleted_last_entry_is_caught(platform: Platform, watched: str, state: Path) -> None:
    grow(platform, 2, start=100)
    sql(platform, "DELETE FROM log_audit WHERE leaf_index = 10")
    sql(platform, "DELETE FROM log_entries WHERE leaf_index = 10")
    assert_tampered(run(watched, state), "entry 10 is missing")


def test_swapped_entries_are_caught(platform: Platform, watched: str, state: Path) -> None:
    rows = all_entries(platform)
    (_, e2, h2), (_, e5, h5) = rows[2], rows[5]
    placeholder = b"\x00" * 32
    sql(
        platform,
        "UPDATE log_entries SET entry = :e, leaf_hash = :h WHERE leaf_index = 2",
        e=e5,
        h=placeholder,
    )
    sql(platform, "UPDATE log_entries SET entry = :e, leaf_hash = :h WHERE leaf_index = 5", e=e2, h=h2)
    sql(platform, "UPDATE log_entries SET leaf_hash = :h WHERE leaf_index = 2", h=h5)
    assert_tampered(run(watched, state, "--full"), "entry 2 no longer hashes to")


def test_clever_attacker_at_the_same_size_is_a_fork(platform: Platform, watched: str, state: Path) -> None:
    entry = all_entries(platform)[4][1]
    rewrite_entry(platform, 4, forged(entry), with_leaf_hash=True)
    rebuild_tree_and_resign(platform)
    saved = state.read_bytes()
    result = run(watched, state)  # not even --full: the signed root itself betrays the rewrite
    assert_tampered(result, "fork: checkpoint of size 9 has root", "the one you verified earlier")
    assert state.read_bytes() == saved


def test_clever_attacker_who_keeps_appending_fails_consistency(
    platform: Platform, watched: str, state: Path
) -> None:
    entry = all_entries(platform)[4][1]
    rewrite_entry(platform, 4, forged(entry), with_leaf_hash=True)
    rebuild_tree_and_resign(platform)
    grow(platform, 6, start=100)  # the real sequencer carries on from the forged tree
    result = run(watched, state)
    assert_tampered(result, "rewrote history", "not an extension of the size-9 checkpoint")
    assert_tampered(run(watched, state, "--full"), "entry 4 no longer hashes to")


def test_shrunk_log_is_a_fork(platform: Platform, watched: str, state: Path) -> None:
    for index in (8, 7):
        sql(platform, "DELETE FROM log_audit WHERE leaf_index = :i", i=index)
        sql(platform, "DELETE FROM log_entries WHERE leaf_index = :i", i=index)
    rebuild_tree_and_resign(platform)
    assert_tampered(run(watched, state), "shrank", "size 7")


def test_checkpoint_signed_by_another_key_is_caught(platform: Platform, watched: str, state: Path) -> None:
    grow(platform, 2, start=100)
    impostor = parse_signer_key(generate_signer(platform.settings.log_origin)[0])
    rebuild_tree_and_resign(platform, impostor)
    assert_tampered(run(watched, state), "signature does not verify with the pinned key")


def test_stopped_server_is_network_trouble(platform: Platform, state: Path) -> None:
    with serve(platform) as url:
        assert run(url, state).exit_code == EXIT_OK
    result = run(url, state)
    assert result.exit_code == EXIT_NETWORK, result.output
    assert "cannot reach" in result.output
