"""The rule checks of a tender against its procedure table row.

:func:`check_spec` returns every violation of a :class:`~tendering.tenders.spec.TenderSpec` (each with a
stable code); :func:`refuse` turns a non-empty list into one
:class:`~tendering.errors.InvalidInput` whose ``code`` is the first violation's and whose
``violations`` lists them all. Every number comes from :class:`ProcedureRules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from tendering.errors import InvalidInput
from tendering.tenders.procedures import ProcedureRules
from tendering.tenders.spec import TenderSpec, TimetableSpec, utc_text

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Violation:
    """One broken rule: a stable code, a sentence, and the field it concerns."""

    code: str
    detail: str
    field: str = ""

    def document(self) -> dict[str, str]:
        """The violation as JSON."""
        return {"code": self.code, "detail": self.detail, "field": self.field}


def refuse(violations: list[Violation]) -> None:
    """Raise InvalidInput listing ``violations`` (nothing if the list is empty)."""
    if violations:
        first = violations[0]
        detail = "; ".join(v.detail for v in violations)
        raise InvalidInput(detail, code=first.code, violations=[v.document() for v in violations])


def effective_timetable(timetable: TimetableSpec, now: datetime) -> TimetableSpec:
    """The timetable as it will run if published now or later: publication no earlier than ``now``,
    documents issued no earlier than publication."""
    publication = max(timetable.publication_time, now)
    start = max(timetable.document_period_start or publication, publication)
    return timetable.model_copy(update={"publication_time": publication, "document_period_start": start})


def check_timetable(t: TimetableSpec, rules: ProcedureRules) -> list[Violation]:
    """Timetable rules (Law Art. 23, 24, 34; Regs Art. 16, 22, 54), given effective times."""
    out: list[Violation] = []
    start = t.document_period_start or t.publication_time
    if start < t.publication_time:
        out.append(
            Violation(
                "documents-before-publication",
                "documents cannot be issued before publication",
                "timetable.document_period_start",
            )
        )
    if t.document_period_end - start < rules.min_days("min_document_period_days"):
        out.append(
            Violation(
                "document-period-too-short",
                f"the documents must be obtainable for at least {rules.min_document_period_days} days",
                "timetable.document_period_end",
            )
        )
    if t.document_period_end > t.bid_deadline:
        out.append(
            Violation(
                "document-period-after-deadline",
                "the document period must end by the bid deadline",
                "timetable.document_period_end",
            )
        )
    if t.bid_deadline - start < rules.min_days("min_days_issue_to_deadline"):
        earliest = start + rules.min_days("min_days_issue_to_deadline")
        out.append(
            Violation(
                "bid-period-too-short",
                f"the bid deadline must be at least {rules.min_days_issue_to_deadline} days after the "
                f"documents are first issued (Law Art. 24): not before {utc_text(earliest)}",
                "timetable.bid_deadline",
            )
        )
    if t.clarification_deadline < t.publication_time:
        out.append(
            Violation(
                "clarification-deadline-before-publication",
                "the clarification deadline is before publication",
                "timetable.clarification_deadline",
            )
        )
    latest_question = t.bid_deadline - rules.min_days("clarification_request_min_days_before_deadline")
    if t.clarification_deadline > latest_question:
        out.append(
            Violation(
                "clarification-deadline-too-late",
                f"questions on the documents must close at least "
                f"{rules.clarification_request_min_days_before_deadline} days before the bid deadline",
                "timetable.clarification_deadline",
            )
        )
    if t.evaluation_date < t.bid_deadline:
        out.append(
            Violation(
                "evaluation-before-deadline",
                "evaluation cannot start before the bid deadline (= opening)",
                "timetable.evaluation_date",
            )
        )
    if t.publicity_days < rules.candidate_publicity_min_days:
        out.append(
            Violation(
                "publicity-too-short",
                f"candidates must be publicised for at least {rules.candidate_publicity_min_days} days",
                "timetable.publicity_days",
            )
        )
    return out


def check_lots(spec: TenderSpec, rules: ProcedureRules) -> list[Violation]:
    """Lots: unique numbers, currencies allowed and consistent, ceiling and bond within the table."""
    out: list[Violation] = []
    numbers = [lot.number for lot in spec.lots]
    if len(set(numbers)) != len(numbers):
        out.append(Violation("lot-number-duplicate", "lot numbers must be unique", "lots"))
    for i, lot in enumerate(spec.lots):
        where = f"lots[{i}]"
        amounts = [m for m in (lot.estimated_price, lot.ceiling_price, lot.bid_bond) if m is not None]
        if any(m.currency not in rules.currencies for m in amounts):
            out.append(
                Violation(
                    "currency-not-allowed",
                    f"lot {lot.number}: currencies allowed are {', '.join(rules.currencies)}",
                    where,
                )
            )
        estimate = lot.estimated_price.amount
        if estimate <= 0:
            out.append(
                Violation(
                    "estimate-not-positive", f"lot {lot.number}: the estimated price must be positive", where
                )
            )
        ceiling = lot.ceiling_price
        if ceiling is not None and ceiling.amount <= 0:
            out.append(
                Violation(
                    "ceiling-not-positive", f"lot {lot.number}: the ceiling price must be positive", where
                )
            )
        if ceiling is not None and rules.ceiling_at_most_estimate and ceiling.amount > estimate:
            out.append(
                Violation(
                    "ceiling-above-estimate",
                    f"lot {lot.number}: the ceiling price exceeds the estimated price",
                    where,
                )
            )
        bond = lot.bid_bond
        if bond is not None:
            limit = (estimate * rules.bid_bond_max_percent / HUNDRED).quantize(Decimal("0.01"))
            if bond.amount < 0:
                out.append(
                    Violation(
                        "bid-bond-negative", f"lot {lot.number}: the bid bond cannot be negative", where
                    )
                )
            elif bond.amount > limit:
                out.append(
                    Violation(
                        "bid-bond-too-high",
                        f"lot {lot.number}: the bid bond may be at most {rules.bid_bond_max_percent}% of the "
                        f"estimated price, {limit:.2f} (Regs Art. 26)",
                        where,
                    )
                )
    return out


def check_evaluation(spec: TenderSpec, rules: ProcedureRules) -> list[Violation]:
    """Criteria weights sum to 100; the committee has the size and expert share the table asks."""
    out: list[Violation] = []
    evaluation = spec.evaluation
    criteria = evaluation.criteria
    if evaluation.method == "comprehensive_scoring" and not criteria:
        out.append(
            Violation(
                "criteria-missing", "comprehensive scoring needs weighted criteria", "evaluation.criteria"
            )
        )
    if any(c.weight <= 0 for c in criteria):
        out.append(
            Violation(
                "criterion-weight-invalid", "every criterion weight must be positive", "evaluation.criteria"
            )
        )
    total = sum((c.weight for c in criteria), Decimal(0))
    if criteria and total != HUNDRED:
        out.append(
            Violation(
                "criteria-weights-not-100",
                f"criteria weights sum to {total:.2f}, not 100",
                "evaluation.criteria",
            )
        )
    names = [c.name for c in criteria]
    if len(set(names)) != len(names):
        out.append(Violation("criterion-duplicate", "criterion names must be unique", "evaluation.criteria"))
    size = evaluation.committee_size
    if size < rules.committee_min_size:
        out.append(
            Violation(
                "committee-too-small",
                f"the committee needs at least {rules.committee_min_size} members (Law Art. 37)",
                "evaluation.committee_size",
            )
        )
    if rules.committee_size_odd and size % 2 == 0:
        out.append(
            Violation(
                "committee-size-even",
                "the committee must have an odd number of members (Law Art. 37)",
                "evaluation.committee_size",
            )
        )
    experts = size - evaluation.tenderee_representatives
    if experts < 0 or Fraction(experts, size) < rules.experts_min_fraction:
        out.append(
            Violation(
                "committee-too-few-experts",
                f"experts must be at least {rules.experts_min_fraction} of the committee (Law Art. 37)",
                "evaluation.tenderee_representatives",
            )
        )
    return out


def check_opening(spec: TenderSpec, rules: ProcedureRules) -> list[Violation]:
    """Custodians distinct and numerous enough; 1 <= min_threshold <= k <= n."""
    out: list[Violation] = []
    custodians = spec.opening.custodians
    n, k = len(custodians), spec.opening.threshold
    if len(set(custodians)) != n:
        out.append(
            Violation("custodian-duplicate", "each custodian may hold only one share", "opening.custodians")
        )
    if n < rules.min_custodians:
        out.append(
            Violation(
                "custodians-too-few",
                f"at least {rules.min_custodians} custodians are required",
                "opening.custodians",
            )
        )
    if k > n:
        out.append(
            Violation(
                "threshold-above-custodians",
                f"a threshold of {k} needs at least {k} custodians",
                "opening.threshold",
            )
        )
    if k < rules.min_threshold:
        out.append(
            Violation(
                "threshold-too-low",
                f"at least {rules.min_threshold} custodians must be needed to open",
                "opening.threshold",
            )
        )
    return out


def check_spec(spec: TenderSpec, rules: ProcedureRules, now: datetime) -> list[Violation]:
    """Every table rule that the content alone decides, with the timetable as it would run from ``now``."""
    out: list[Violation] = []
    if not rules.supported:
        out.append(
            Violation(
                "procedure-not-supported", f"procedure {rules.procedure} is not available yet", "procedure"
            )
        )
    if spec.category not in rules.categories:
        out.append(
            Violation(
                "category-not-allowed",
                f"procedure {rules.procedure} is for {', '.join(rules.categories)}",
                "category",
            )
        )
    if not [q for q in spec.qualification_requirements if q.strip()]:
        out.append(
            Violation(
                "qualification-missing",
                "state at least one qualification requirement",
                "qualification_requirements",
            )
        )
    planned = spec.timetable
    if planned.document_period_start is not None and planned.document_period_start < planned.publication_time:
        out.append(
            Violation(
                "documents-before-publication",
                "documents cannot be issued before publication",
                "timetable.document_period_start",
            )
        )
    out += [
        v
        for v in check_timetable(effective_timetable(planned, now), rules)
        if v.code != "documents-before-publication"
    ]
    out += check_lots(spec, rules)
    out += check_evaluation(spec, rules)
    out += check_opening(spec, rules)
    return out


def amendment_window(rules: ProcedureRules, now: datetime) -> datetime:
    """The earliest bid deadline that leaves a notice published at ``now`` enough days (Law Art. 23)."""
    return now + timedelta(days=rules.amendment_min_days_before_deadline)
