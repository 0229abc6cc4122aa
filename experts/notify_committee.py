"""What the confirmation needs from the draw: ``contact_card`` and ``settle`` (``experts.committee``).

The confirmation calls the draw's two functions through the :class:`Committee` Protocol, so it can be
tested and benchmarked against :class:`InMemoryCommittee` and run against :mod:`experts.committee`.
:func:`committee_for` returns the one bound to a platform (default: the module ``experts.committee``).
"""

from __future__ import annotations

import importlib
import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from experts.pool_models import ExpertAssignment
from tendering.errors import NotFound
from tendering.identity.audit import Actor
from tendering.tasks import enqueue

if TYPE_CHECKING:
    from tendering.platform import Platform

Outcome = Literal["confirmed", "declined", "no_answer"]
CONFIRM_TASK = "experts.confirm"


class ContactCardView(Protocol):
    """The fields of ``experts.committee.ContactCard`` the confirmation reads."""

    @property
    def assignment_id(self) -> uuid.UUID: ...
    @property
    def phones(self) -> tuple[str, ...]: ...
    @property
    def evaluation_time(self) -> datetime: ...
    @property
    def evaluation_place(self) -> str: ...
    @property
    def time_zone(self) -> str: ...
    @property
    def locale(self) -> str: ...


class SettleResultView(Protocol):
    """The fields of ``experts.committee.SettleResult`` the confirmation reads."""

    @property
    def assignment_id(self) -> uuid.UUID: ...
    @property
    def status(self) -> str: ...
    @property
    def replacement_id(self) -> uuid.UUID | None: ...
    @property
    def pool_short(self) -> bool: ...


class Committee(Protocol):
    """The draw's side of the contract (see ``experts/committee.py``)."""

    def contact_card(
        self, session: Session, platform: Platform, assignment_id: uuid.UUID, *, reader: Actor
    ) -> ContactCardView:
        """The sealed contact details of an assignment (the read is logged)."""
        ...

    def settle(
        self,
        session: Session,
        platform: Platform,
        assignment_id: uuid.UUID,
        outcome: Outcome,
        *,
        actor: Actor,
        evidence: Mapping[str, str],
    ) -> SettleResultView:
        """Settle an assignment (idempotent); replace a decline or no answer by the next in order."""
        ...


def assignment_status(committee: Committee, session: Session, assignment_id: uuid.UUID) -> str | None:
    """The draw's status of an assignment (``pending`` while it awaits confirmation), None if unknown.

    A committee may answer itself (``assignment_status`` method, as :class:`InMemoryCommittee` does);
    otherwise the draw's ``expert_assignments`` table is read.
    """
    own = getattr(committee, "assignment_status", None)
    if callable(own):
        status = own(session, assignment_id)
        return None if status is None else str(status)
    return session.scalar(select(ExpertAssignment.status).where(ExpertAssignment.id == assignment_id))


_bound: dict[int, Committee] = {}
_lock = threading.Lock()


def bind_committee(platform: Platform, committee: Committee) -> None:
    """Use ``committee`` for ``platform`` (tests, the benchmark) instead of ``experts.committee``."""
    key = id(platform)
    with _lock:
        _bound[key] = committee
    weakref.finalize(platform, _bound.pop, key, None)


def committee_for(platform: Platform) -> Committee:
    """The committee bound to ``platform``, else the draw's module ``experts.committee``."""
    with _lock:
        bound = _bound.get(id(platform))
    if bound is not None:
        return bound
    return cast(Committee, importlib.import_module("experts.committee"))


@dataclass(frozen=True)
class MemoryCard:
    """A contact card of :class:`InMemoryCommittee`."""

    assignment_id: uuid.UUID
    expert_name: str
    phones: tuple[str, ...]
    evaluation_time: datetime
    evaluation_place: str
    time_zone: str
    locale: str


@dataclass(frozen=True)
class MemorySettleResult:
    """A settle result of :class:`InMemoryCommittee`."""

    assignment_id: uuid.UUID
    status: str
    replacement_id: uuid.UUID | None
    pool_short: bool


@dataclass
class InMemoryCommittee:
    """A committee of one specialty kept in memory: drawn cards and reserves in the draw's order.

    It honours the contract: :meth:`settle` is idempotent, replaces a decline or no answer by the next
    reserve and enqueues ``experts.confirm`` for it after commit, and reports ``pool_short`` (recording
    an alert) when the order is exhausted.
    """

    cards: dict[uuid.UUID, MemoryCard] = field(default_factory=dict)
    statuses: dict[uuid.UUID, str] = field(default_factory=dict)
    reserves: list[MemoryCard] = field(default_factory=list)
    results: dict[uuid.UUID, MemorySettleResult] = field(default_factory=dict)
    reads: list[uuid.UUID] = field(default_factory=list)
    alerts: list[uuid.UUID] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, card: MemoryCard, *, reserve: bool = False) -> MemoryCard:
        """Add a drawn member (pending) or a reserve (next in order)."""
        if reserve:
            self.reserves.append(card)
        else:
            self.cards[card.assignment_id] = card
            self.statuses[card.assignment_id] = "pending"
        return card

    def assignment_status(self, session: Session, assignment_id: uuid.UUID) -> str | None:
        """The status of an assignment (pending, confirmed, declined, no_answer, avoided, replaced)."""
        with self.lock:
            return self.statuses.get(assignment_id)

    def members(self) -> Sequence[uuid.UUID]:
        """Every assignment made so far, in order."""
        return list(self.cards)

    def contact_card(
        self, session: Session, platform: Platform, assignment_id: uuid.UUID, *, reader: Actor
    ) -> MemoryCard:
        """The card of ``assignment_id`` (each read is recorded)."""
        with self.lock:
            card = self.cards.get(assignment_id)
            if card is None:
                raise NotFound(f"no assignment {assignment_id}", code="assignment-not-found")
            self.reads.append(assignment_id)
            return card

    def settle(
        self,
        session: Session,
        platform: Platform,
        assignment_id: uuid.UUID,
        outcome: Outcome,
        *,
        actor: Actor,
        evidence: Mapping[str, str],
    ) -> MemorySettleResult:
        """Settle once; replace a decline or no answer by the next reserve."""
        with self.lock:
            if assignment_id in self.results:
                return self.results[assignment_id]
            if assignment_id not in self.cards:
                raise NotFound(f"no assignment {assignment_id}", code="assignment-not-found")
            self.statuses[assignment_id] = outcome
            replacement: uuid.UUID | None = None
            short = False
            if outcome != "confirmed":
                if self.reserves:
                    card = self.reserves.pop(0)
                    self.cards[card.assignment_id] = card
                    self.statuses[card.assignment_id] = "pending"
                    replacement = card.assignment_id
                else:
                    short = True
                    self.alerts.append(assignment_id)
            result = MemorySettleResult(assignment_id, outcome, replacement, short)
            self.results[assignment_id] = result
        if replacement is not None:
            enqueue(session, CONFIRM_TASK, platform.clock, assignment_id=str(replacement))
        return result
