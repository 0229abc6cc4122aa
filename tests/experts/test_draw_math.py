"""The pure draw computation: determinism, input-order independence, selection and replacements."""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experts import draw_math
from experts.draw_math import DrawShort, Line

ids_strategy = st.lists(st.uuids(), min_size=1, max_size=60, unique=True)
seed_strategy = st.binary(min_size=32, max_size=32)


@given(ids_strategy, seed_strategy, st.randoms(use_true_random=False))
@settings(max_examples=60, deadline=None)
def test_the_order_does_not_depend_on_the_input_order(
    ids: list[uuid.UUID], seed: bytes, rnd: random.Random
) -> None:
    shuffled = list(ids)
    rnd.shuffle(shuffled)
    assert draw_math.order(seed, ids) == draw_math.order(seed, shuffled)
    assert draw_math.order(seed, ids + ids[:3]) == draw_math.order(seed, ids)  # duplicates do not count twice


@given(ids_strategy, seed_strategy)
@settings(max_examples=60, deadline=None)
def test_the_order_is_the_hmac_sort(ids: list[uuid.UUID], seed: bytes) -> None:
    expected = sorted(ids, key=lambda e: hmac.new(seed, e.bytes, hashlib.sha256).digest())
    assert draw_math.order(seed, ids) == expected


def test_the_seed_is_hmac_of_the_secret_over_root_and_request_id() -> None:
    secret, root, request = bytes(range(32)), bytes(range(32, 64)), uuid.UUID(int=7)
    assert (
        draw_math.seed(secret, root, request)
        == hmac.new(secret, root + request.bytes, hashlib.sha256).digest()
    )
    assert draw_math.seed(secret, root, uuid.UUID(int=8)) != draw_math.seed(secret, root, request)
    with pytest.raises(ValueError, match="32 bytes"):
        draw_math.seed(secret, b"short", request)


def test_another_seed_gives_another_order() -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 40)]
    assert draw_math.order(b"\x01" * 32, ids) != draw_math.order(b"\x02" * 32, ids)


@given(ids_strategy, st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None)
def test_the_eligible_hash_ignores_order_but_not_membership(ids: list[uuid.UUID], rnd: random.Random) -> None:
    lines = [Line("A0101", 1, 0)]
    shuffled = list(ids)
    rnd.shuffle(shuffled)
    assert draw_math.eligible_hash(lines, [ids]) == draw_math.eligible_hash(lines, [shuffled])
    assert draw_math.eligible_hash(lines, [ids]) != draw_math.eligible_hash(lines, [ids[1:]])
    assert draw_math.eligible_hash(lines, [ids]) != draw_math.eligible_hash([Line("A0102", 1, 0)], [ids])


def test_the_eligible_hash_bytes_are_as_documented() -> None:
    ids = [uuid.UUID(int=2), uuid.UUID(int=1)]
    expected = hashlib.sha256(
        draw_math.ELIGIBLE_DOMAIN
        + (5).to_bytes(4, "big")
        + b"A0101"
        + (2).to_bytes(4, "big")
        + uuid.UUID(int=1).bytes
        + uuid.UUID(int=2).bytes
    ).hexdigest()
    assert draw_math.eligible_hash([Line("A0101", 1, 0)], [ids]) == expected


@given(st.lists(st.uuids(), min_size=12, max_size=40, unique=True), seed_strategy)
@settings(max_examples=40, deadline=None)
def test_members_then_reserves_are_the_head_of_the_order(ids: list[uuid.UUID], seed: bytes) -> None:
    picks, sequences = draw_math.select(seed, [Line("A0101", 5, 2)], [ids])
    ordered = draw_math.order(seed, ids)
    assert sequences == [ordered]
    assert [(p.rank, p.role, p.expert_id) for p in picks] == [
        (rank, "member" if rank < 5 else "reserve", expert) for rank, expert in enumerate(ordered[:7])
    ]


def test_a_later_line_skips_experts_an_earlier_line_selected() -> None:
    shared = [uuid.UUID(int=i) for i in range(1, 21)]
    seed = b"\x07" * 32
    picks, sequences = draw_math.select(seed, [Line("A01", 3, 1), Line("A0101", 3, 0)], [shared, shared])
    first = {p.expert_id for p in picks if p.line_index == 0}
    second = [p.expert_id for p in picks if p.line_index == 1]
    assert not first & set(second)
    assert second == [e for e in draw_math.order(seed, shared) if e not in first][:3]
    assert sequences[1][:3] == second


def test_a_short_line_is_named() -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 4)]
    with pytest.raises(DrawShort) as caught:
        draw_math.select(b"\x00" * 32, [Line("A0101", 2, 0), Line("B0101", 5, 0)], [ids, ids])
    assert (caught.value.specialty, caught.value.needed, caught.value.available) == ("B0101", 5, 1)


def test_fewer_reserves_than_asked_is_not_short() -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 6)]
    picks, _ = draw_math.select(b"\x00" * 32, [Line("A0101", 5, 3)], [ids])
    assert [p.role for p in picks] == ["member"] * 5


def test_the_drawn_hash_covers_every_pick() -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 10)]
    picks, _ = draw_math.select(b"\x03" * 32, [Line("A0101", 5, 1)], [ids])
    base = draw_math.drawn_hash(picks)
    assert draw_math.drawn_hash(list(reversed(picks))) == base
    swapped = [
        *picks[:-1],
        draw_math.Pick(picks[-1].line_index, picks[-1].rank, "member", picks[-1].expert_id),
    ]
    assert draw_math.drawn_hash(swapped) != base
    other = [*picks[:-1], draw_math.Pick(0, picks[-1].rank, picks[-1].role, uuid.UUID(int=99))]
    assert draw_math.drawn_hash(other) != base


def test_packing_ids_round_trips_sorted() -> None:
    ids = [uuid.uuid4() for _ in range(50)]
    assert draw_math.unpack_ids(draw_math.pack_ids(ids)) == sorted(ids, key=lambda e: e.bytes)


def test_reserves_never_starve_a_later_line_of_members() -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 5)]  # four experts who all qualify for both lines
    picks, sequences = draw_math.select(b"\x05" * 32, [Line("A01", 3, 1), Line("A0101", 1, 0)], [ids, ids])
    order = draw_math.order(b"\x05" * 32, ids)
    assert [(p.line_index, p.role, p.expert_id) for p in picks] == [
        (0, "member", order[0]),
        (0, "member", order[1]),
        (0, "member", order[2]),
        (1, "member", order[3]),
    ]  # line 0 gets no reserve: its only candidate is line 1's member
    assert sequences[1] == [order[3]]


def test_a_reserve_keeps_its_position_in_the_sequence_as_rank() -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 9)]
    seed = b"\x09" * 32
    picks, sequences = draw_math.select(seed, [Line("A01", 2, 2), Line("A0101", 2, 0)], [ids, ids])
    line1 = {p.expert_id for p in picks if p.line_index == 1}
    for pick in picks:
        assert sequences[pick.line_index][pick.rank] == pick.expert_id
    reserves = [p for p in picks if p.role == "reserve"]
    assert len(reserves) == 2
    assert not {p.expert_id for p in reserves} & line1
    assert [p.rank for p in reserves] == sorted(p.rank for p in reserves)
