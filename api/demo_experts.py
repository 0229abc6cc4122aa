"""The demo's expert step: the pool, the sealed verifiable draw, call/SMS confirmation, verify-draw.

A pool of 300 synthetic experts is loaded (every edit audited). The agency asks for the committee of the
first demo tender — four municipal-works experts and one cost engineer, with reserves — and never names
anyone; the draw commits its secret and eligible set to the log before the seed checkpoint exists. The
simulated experts answer the calls (some decline or do not answer, and the next expert in the verifiable
order is called), the supervisor follows the counts without names, the agency sees counts only. At the
evaluation time the supervisor starts the session (avoidance checked again against the bidders, the
list released to the session). That tender has no result yet, so its secret stays sealed (the reveal is
refused) and ``sealbid experts verify-draw`` checks what the log already proves: the commitment, the
eligible-set hash and that the seed checkpoint was the first after the commitment — NOT YET REVEALED.
A further tender is then published, its committee drawn, and the agency cancels it: the tender ended,
so the maintenance sweep reveals that draw's secret by itself and verify-draw recomputes the whole draw
from the public log: MATCHES.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from api.client.http import call
from api.client.login_commands import load_credential, perform_login
from api.demo_bids import run_cli
from api.demo_context import DemoContext, DemoFailed
from api.demo_tenders import SAMPLES
from api.demo_tenders import _spec as demo_spec
from experts.demo_pool import load_demo_pool
from experts.pool_models import Expert

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


def _identity(context: DemoContext, name: str) -> str:
    answer = perform_login(
        context.client,
        load_credential(context.participant(name).pkcs12, context.password),
        audience=context.audience,
    )
    return str(answer["identity"]["id"])


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
    supervisor = _headers(context, "supervisor")
    started = call(
        context.client, "POST", f"/authority/expert-draws/{request_id}/session-start", headers=supervisor
    )
    context.settle()
    echo(
        f"    the evaluation session starts: avoidance checked again against the {started['bidders']} "
        f"bidders ({started['avoided']} avoided), the sealed list opens to the session: "
        f"{len(started['members'])} members (every read is logged)"
    )
    refused = context.client.post(f"/authority/expert-draws/{request_id}/reveal", headers=supervisor)
    code = refused.json().get("code") if refused.status_code == 409 else None
    if code != "expert-reveal-before-result":
        msg = f"the draw secret of a tender without a result was not kept sealed ({refused.status_code})"
        raise DemoFailed(msg)
    sealed = _verify_draw(context, request_id)
    echo(f"    no result yet, so the secret stays sealed (reveal refused: {code}); verify-draw: {sealed}")
    cancelled_request, cancelled_verdict = _cancelled_draw(context)
    context.result.experts.update(
        {
            "pool": len(pool),
            "request": request_id,
            "totals": totals,
            "session": started,
            "reveal_refused": code,
            "verify_sealed": sealed,
            "cancelled_request": cancelled_request,
            "verify": cancelled_verdict,
        }
    )


def _verify_draw(context: DemoContext, request_id: str) -> str:
    output = run_cli(
        context, "monitor", "experts", "verify-draw", "--request", request_id, "--server", context.base_url
    )
    return output.strip().splitlines()[-1]


def _cancelled_draw(context: DemoContext) -> tuple[str, str]:
    """A further tender: published, its committee drawn, then cancelled; the sweep reveals the secret."""
    agency, reviewer = _headers(context, "agency"), _headers(context, "reviewer")
    tenderee = context.participant("tenderee").subject_id
    custodians = [_identity(context, f"custodian-{i}") for i in (1, 2, 3)]
    spec = demo_spec(SAMPLES[2], len(SAMPLES) + 1, tenderee, custodians, context.now())
    tender = call(context.client, "POST", "/agency/tenders", json=spec, headers=agency)["id"]
    call(context.client, "POST", f"/agency/tenders/{tender}/submit", headers=agency)
    call(context.client, "POST", f"/authority/tenders/{tender}/approve", headers=reviewer)
    context.settle()
    body = {
        "evaluation_time": (context.now() + timedelta(days=2)).isoformat(),
        "evaluation_place": "福州市公共资源交易中心 第二评标室",
        "lines": [{"specialty": code, "count": count, "reserves": 1} for code, count, _ in LINES],
    }
    record = call(context.client, "POST", f"/agency/tenders/{tender}/expert-draws", json=body, headers=agency)
    request_id = str(record["request"])
    context.settle()
    reason = {"reason": "项目资金未落实，终止招标（演示）"}
    call(context.client, "POST", f"/agency/tenders/{tender}/cancel", json=reason, headers=agency)
    context.settle()  # the maintenance sweep reveals the secret of the ended tender's draw
    revealed = call(context.client, "GET", f"/public/expert-draws/{request_id}")
    if not revealed.get("secret"):
        msg = "the maintenance sweep did not reveal the secret of the cancelled tender's draw"
        raise DemoFailed(msg)
    verdict = _verify_draw(context, request_id)
    context.echo(
        f"    a further tender is published and its committee drawn ({request_id}), then the agency "
        "cancels it: the tender ended, so the maintenance sweep revealed that draw's secret in the log"
    )
    context.echo(f"    sealbid experts verify-draw recomputes the whole draw from the log: {verdict}")
    return request_id, verdict
