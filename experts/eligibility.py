"""Avoidance rules (回避): which experts of the pool may serve a given extraction request.

An expert is avoided when any rule applies:

- ``status``: suspended or retired;
- ``employer``: employed by the tenderee, the agency or (after the deadline) a bidder (by USCC);
- ``manual``: on the request's manual avoid list;
- ``region``: works in the tender's region (only when the request asks for the same-region exclusion;
  a prefix match on the GB/T 2260 code at the tender's level: ``310000`` avoids all of Shanghai);
- ``recent``: served the same tenderee within ``settings.experts.recent_participation_days``;
- ``unavailable``: marked unavailable on the evaluation date (in the request's time zone);
- ``specialty``: holds no code meeting the line (not an avoidance, just not a candidate).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from experts.draw_math import Line
from experts.pool_models import Expert, ExpertParticipation, ExpertUnavailability, ExtractionRequest
from experts.specialties import meets

#: Outcomes of a participation that count as having served (for the recent-participation rule).
SERVED_OUTCOMES = ("confirmed",)


def region_prefix(region: str) -> str:
    """The GB/T 2260 prefix of a division: ``310000`` -> ``31``, ``310100`` -> ``3101``."""
    if region.endswith("0000"):
        return region[:2]
    if region.endswith("00"):
        return region[:4]
    return region


def evaluation_day(request: ExtractionRequest) -> date:
    """The evaluation date in the request's time zone."""
    return request.evaluation_time.astimezone(ZoneInfo(request.time_zone)).date()


@dataclass
class Screening:
    """The eligible experts of each line and how many of the pool each rule avoided."""

    eligible: list[list[uuid.UUID]]
    avoided: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Rules:
    """The request's avoidance rules in a form that needs no database."""

    avoided_usccs: frozenset[str]
    manual: frozenset[uuid.UUID]
    region_prefix: str | None
    recent: frozenset[uuid.UUID]
    unavailable: frozenset[uuid.UUID]

    def reason(self, expert_id: uuid.UUID, status: str, employer: str, region: str) -> str | None:
        """The first rule that avoids this expert, or None."""
        checks = (
            ("status", status != "active"),
            ("employer", employer in self.avoided_usccs),
            ("manual", expert_id in self.manual),
            ("region", self.region_prefix is not None and region.startswith(self.region_prefix)),
            ("recent", expert_id in self.recent),
            ("unavailable", expert_id in self.unavailable),
        )
        return next((name for name, applies in checks if applies), None)


def load_rules(session: Session, request: ExtractionRequest, recent_days: int, tenderee_uscc: str) -> Rules:
    """Read the date-dependent facts (unavailability, recent participation) for ``request``."""
    day = evaluation_day(request)
    unavailable = session.scalars(
        select(ExpertUnavailability.expert_id).where(
            ExpertUnavailability.start_date <= day, ExpertUnavailability.end_date >= day
        )
    )
    recent: Iterable[uuid.UUID] = ()
    if recent_days > 0:
        recent = session.scalars(
            select(ExpertParticipation.expert_id).where(
                ExpertParticipation.tenderee_uscc == tenderee_uscc,
                ExpertParticipation.outcome.in_(SERVED_OUTCOMES),
                ExpertParticipation.evaluation_date >= day - timedelta(days=recent_days),
                ExpertParticipation.evaluation_date <= day,
                ExpertParticipation.tender_id.is_distinct_from(request.tender_id),
            )
        )
    return Rules(
        avoided_usccs=frozenset(request.avoided_usccs),
        manual=frozenset(uuid.UUID(key) for key in request.manual_avoid),
        region_prefix=region_prefix(request.region) if request.exclude_same_region else None,
        recent=frozenset(recent),
        unavailable=frozenset(unavailable),
    )


def screen(session: Session, rules: Rules, lines: Sequence[Line]) -> Screening:
    """The eligible experts per line (one pass over the pool's relevant columns)."""
    result = Screening([[] for _ in lines])
    rows = session.execute(
        select(Expert.id, Expert.status, Expert.employer_uscc, Expert.region, Expert.specialties)
    )
    for expert_id, status, employer, region, held in rows:
        wanted = [i for i, line in enumerate(lines) if meets(line.specialty, held)]
        if not wanted:
            continue
        reason = rules.reason(expert_id, status, employer, region)
        if reason is not None:
            result.avoided[reason] += 1
            continue
        for index in wanted:
            result.eligible[index].append(expert_id)
    return result


def avoidance_of(session: Session, rules: Rules, expert_id: uuid.UUID) -> str | None:
    """Why ``expert_id`` is avoided now (rechecked before a replacement takes it), or None."""
    expert = session.get(Expert, expert_id)
    if expert is None:
        return "removed"
    return rules.reason(expert.id, expert.status, expert.employer_uscc, expert.region)
