"""The demo's expert step: the pool, the sealed verifiable draw, call/SMS confirmation, verify-draw.

A pool of 300 synthetic experts is loaded (every edit audited). The agency asks for the committee of the
first demo tender — four municipal-works experts and one cost engineer, with reserves — and never names
anyone; the draw commits its secret and eligible set to the log before the seed checkpoint exists. The
simulated experts answer the calls (some decline or do not answer, and the next expert in the verifiable
order is called), the supervisor follows the counts without names, the agency sees counts only, the
secret is revealed, and ``sealbid experts verify-draw`` recomputes the draw from the public log.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from api.client.http import call
from api.client.login_commands import load_credential, perform_login
from api.demo_bids import run_cli
from api.demo_context import DemoContext, DemoFailed
from experts.demo_pool import load_demo_pool
from experts.pool_models import Expert
from experts.release import recheck_avoidance, release_to_session
from tendering.identity.audit import Actor

POOL_SIZE = 300
#: (specialty, members, reserves): roads and bridges (municipal works) and cost engineering.
LINES = (("A02", 4, 4), ("A05", 1, 2))
#: How long the simulated experts get to answer, in rounds of the sandbox clock.
ROUNDS = 40
ROUND = timedelta(minutes=3)


def _headers(context: DemoContext, name: str) -> dict[str, str]:
    answer = perform_login(
        context.client,
        load_credential(context.participant(name).pkcs12, context.password),
        audience=context.audience,
    )
    return {"Authorization": f"Bearer {answer['token']}"}


def _status(context: DemoContext, request_id: str) -> dict[str, Any]:
    """The supervisor's status view (logging in afresh: the sandbox clock outruns token lifetimes)."""
    supervisor = _headers(context, "supervisor")
    status: dict[str, Any] = call(
        context.client, "GET", f"/authority/expert-draws/{request_id}", headers=supervisor
    )
    return status


def _wait_for_answers(context: DemoContext, request_id: str) -> dict[str, Any]:
    status = _status(context, request_id)
    for _ in range(ROUNDS):
        totals = status["totals"]
        if totals["pending"] == 0:
            break
        context.clock.skip(ROUND)
        context.settle()
        status = _status(context, request_id)
    return status


def run_expert_steps(context: DemoContext, *, first_step: int, steps: int) -> None:
    """Pool, draw, confirmations through the simulator, and the draw checked from the log (one step)."""
    echo = context.echo
    echo(
        f"[{first_step}/{steps}] Experts: a pool of {POOL_SIZE}, a sealed verifiable draw, "
        "call and SMS confirmation (simulated experts), the draw checked from the log:"
    )
    with context.platform.transaction() as session:
        pool = load_demo_pool(session, context.platform, POOL_SIZE)
    context.settle()
    echo(f"    {len(pool)} experts in the pool (each edit audited; no name or number in the public log)")
    tender = context.result.tenders[0]
    agency = _headers(context, "agency")
    body = {
        "evaluation_time": (context.now() + timedelta(days=2)).isoformat(),
        "evaluation_place": "福州市公共资源交易中心 第三评标室",
        "lines": [
            {"specialty": code, "count": count, "reserves": reserves} for code, count, reserves in LINES
        ],
    }
    record = call(context.client, "POST", f"/agency/tenders/{tender}/expert-draws", json=body, headers=agency)
    request_id = str(record.get("request") or record.get("id"))
    context.settle()
    echo(
        f"    the agency asked for {sum(c for _, c, _ in LINES)} experts plus reserves by specialty "
        f"(never by name); draw {request_id}: secret committed, seed from the next checkpoint, "
        "eligible set hashed into the log"
    )
    status = _wait_for_answers(context, request_id)
    totals = status["totals"]
    echo(
        f"    simulated experts answered the calls and SMS: {totals['confirmed']} confirmed, "
        f"{totals['declined']} declined, {totals.get('no_answer', 0)} did not answer, "
        f"{totals['pending']} pending, {totals['short']} short"
    )
    for line in status["lines"]:
        echo(
            f"      {line['specialty']}: {line['confirmed']}/{line['needed']} confirmed, "
            f"{line['declined']} declined, {line['no_answer']} no answer, "
            f"{line['reserves_waiting']} reserves left"
        )
    agency = _headers(context, "agency")
    seen_by_agency = context.client.get(f"/agency/tenders/{tender}/expert-draws", headers=agency).text
    with context.platform.session_factory() as session:
        names = set(session.scalars(select(Expert.name).where(Expert.id.in_(pool))))
        phones = {
            phone
            for row in session.scalars(select(Expert.phones).where(Expert.id.in_(pool)))
            for phone in row
        }
    if any(name in seen_by_agency for name in names) or any(phone in seen_by_agency for phone in phones):
        msg = "the agency's view of the draw shows an expert's name or phone number"
        raise DemoFailed(msg)
    echo(
        "    the agency and the supervisor see counts only; the drawn names stay sealed until the evaluation"
    )
    context.skip(timedelta(days=2), "the evaluation day comes")
    bidders = [entry["bidder"]["uscc"] for entry in context.result.bids["record"]["bids"]]
    with context.platform.transaction() as session:
        recheck = recheck_avoidance(
            session, context.platform, uuid.UUID(request_id), bidders, actor=Actor.system()
        )
        members = release_to_session(session, context.platform, uuid.UUID(request_id), reader=Actor.system())
    context.settle()
    echo(
        f"    the evaluation session starts: avoidance checked again against the {len(bidders)} bidders "
        f"({len(recheck.avoided)} avoided), the sealed list opens to the session: {len(members)} members "
        "(the read is logged)"
    )
    supervisor = _headers(context, "supervisor")
    call(context.client, "POST", f"/authority/expert-draws/{request_id}/reveal", headers=supervisor)
    context.settle()
    output = run_cli(
        context, "monitor", "experts", "verify-draw", "--request", request_id, "--server", context.base_url
    )
    verdict = output.strip().splitlines()[-1]
    echo(f"    the secret is revealed in the log; sealbid experts verify-draw: {verdict}")
    context.result.experts.update(
        {"pool": len(pool), "request": request_id, "totals": totals, "verify": output}
    )
