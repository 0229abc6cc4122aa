"""The tender state machine: which action leads from which states to which, and who may take it.

::

    (create) -> draft --submit--> pending_review --approve--> approved --publish (scheduled)--> published
                  ^                   |  |
                  +---reject/withdraw-+  |                      published --fail--> failed
    draft, pending_review, approved, published --cancel--> cancelled

Later procedure steps (opening, evaluation, award) add their actions with :func:`register`. Every
transition goes through :func:`transition`, which checks the role and the current state (a
:class:`~tendering.errors.Forbidden` or :class:`~tendering.errors.Conflict` otherwise, changing nothing),
records a :class:`TenderTransition` row and appends the log event, all in the caller's transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tendering.errors import Conflict, Forbidden
from tendering.identity.audit import Actor
from tendering.tenders.events import log_event
from tendering.tenders.models import Tender, TenderTransition

if TYPE_CHECKING:
    from tendering.platform import Platform


class State(enum.StrEnum):
    """Where a tender is in its life."""

    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class Action:
    """A workflow action: the states it starts from, the state it leads to, who may take it."""

    name: str
    sources: frozenset[str]
    target: str | None  # None: the state does not change (an amendment, an edit)
    roles: frozenset[str]
    event: str
    #: Part of the public timeline of a published tender.
    public: bool = False


ACTIONS: dict[str, Action] = {}


def register(
    name: str,
    sources: Iterable[str],
    target: str | None,
    roles: Iterable[str],
    *,
    event: str | None = None,
    public: bool = False,
) -> Action:
    """Declare (or extend) an action of the state machine."""
    action = Action(name, frozenset(sources), target, frozenset(roles), event or f"tender.{name}", public)
    ACTIONS[name] = action
    return action


def allow_from(name: str, *states: str) -> None:
    """Let an existing action also start from ``states`` (e.g. ``fail`` from a later state)."""
    action = ACTIONS[name]
    ACTIONS[name] = Action(
        action.name,
        action.sources | frozenset(states),
        action.target,
        action.roles,
        action.event,
        action.public,
    )


register("create", (), State.DRAFT, ("agency",), event="tender.created")
register("edit", (State.DRAFT,), None, ("agency",), event="tender.edited")
register("submit", (State.DRAFT,), State.PENDING_REVIEW, ("agency",), event="tender.submitted")
register("withdraw", (State.PENDING_REVIEW,), State.DRAFT, ("agency",), event="tender.withdrawn")
register("approve", (State.PENDING_REVIEW,), State.APPROVED, ("authority",), event="tender.approved")
register("reject", (State.PENDING_REVIEW,), State.DRAFT, ("authority",), event="tender.rejected")
register("publish", (State.APPROVED,), State.PUBLISHED, ("system",), event="tender.published", public=True)
register("amend", (State.PUBLISHED,), None, ("agency",), event="tender.amended", public=True)
register(
    "cancel",
    (State.DRAFT, State.PENDING_REVIEW, State.APPROVED, State.PUBLISHED),
    State.CANCELLED,
    ("agency",),
    event="tender.cancelled",
)
register("fail", (State.PUBLISHED,), State.FAILED, ("system", "agency"), event="tender.failed", public=True)


def can(action: str, state: str) -> bool:
    """Whether ``action`` may start from ``state``."""
    return state in ACTIONS[action].sources


def ensure_allowed(tender: Tender, action_name: str, actor: Actor) -> Action:
    """The action, if ``actor`` may take it on ``tender`` now; Forbidden or Conflict otherwise."""
    action = ACTIONS[action_name]
    if actor.role not in action.roles:
        raise Forbidden(
            f"the {actor.role} role may not {action.name} a tender",
            code="role-not-allowed",
            action=action.name,
        )
    if action.name != "create" and tender.state not in action.sources:
        allowed = ", ".join(sorted(action.sources)) or "nothing"
        raise Conflict(
            f"cannot {action.name} a tender that is {tender.state} (only from: {allowed})",
            code="illegal-transition",
            action=action.name,
            state=tender.state,
        )
    return action


def transition(
    platform: Platform,
    session: Session,
    tender: Tender,
    action_name: str,
    actor: Actor,
    *,
    reasons: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    log_data: Mapping[str, Any] | None = None,
    public: bool | None = None,
) -> TenderTransition:
    """Take ``action_name`` on ``tender`` as ``actor``: check, change the state, record, log."""
    action = ensure_allowed(tender, action_name, actor)
    previous = tender.state if action.name != "create" else None
    target = action.target or previous or State.DRAFT
    now = platform.clock.now()
    tender.state = str(target)
    tender.updated_at = now
    if tender.published_at is not None and (action.public or str(target) != previous):
        # the public view changed (publication, notice, cancellation, failure, closing, ...)
        tender.public_changed_at = now
    sequence = session.scalar(
        select(func.count()).select_from(TenderTransition).where(TenderTransition.tender_id == tender.id)
    )
    record = TenderTransition(
        tender_id=tender.id,
        sequence=(sequence or 0) + 1,
        action=action.name,
        from_state=previous,
        to_state=str(target),
        at=now,
        actor_role=actor.role,
        actor_id=actor.identity_id,
        content_sha256=tender.content_sha256,
        reasons=list(reasons),
        public=action.public if public is None else public,
        details=dict(details or {}),
    )
    session.add(record)
    data: dict[str, Any] = {"state": str(target), "content_sha256": tender.content_sha256}
    if previous is not None:
        data["from"] = previous
    data.update(log_data or {})
    log_event(platform, session, action.event, actor, tender.id, **data)
    return record
