"""The demo's tender step: the agency drafts three tenders, the authority reviews them, they publish.

Everything goes through the served HTTP API with the participants' own certificates, on the system clock:
each tender's publication time is now, so the ``tenders.publish`` task that leaves the outbox after the
approval publishes it at once; the demo then reads the portal's announcement list (``/announcements``)
and checks it links and names every one of them. A tenderer then obtains one document (a recorded,
confidential download).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from api.client.http import ClientError, call, problem_message
from api.client.login_commands import load_credential, perform_login
from tendering.identity.devpki import DEMO_PASSWORD, DevPkiReport, ParticipantFile

Echo = Callable[[str], None]

#: (title, project, category, procedure, region, estimate) of the demo tenders.
SAMPLES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("城南道路改造工程施工招标公告", "城南道路改造工程", "works", "open_works", "350102", "12500000.00"),
    (
        "市民服务中心办公家具采购招标公告",
        "市民服务中心办公家具采购",
        "goods",
        "open_goods",
        "350203",
        "860000.00",
    ),
    (
        "闽江河道保洁服务招标公告",
        "闽江河道保洁服务（2026-2028）",
        "services",
        "open_services",
        "350104",
        "2400000.00",
    ),
)


def _participant(report: DevPkiReport, name: str) -> ParticipantFile:
    return next(p for p in report.participants if p.participant == name and p.usage in ("signing", "both"))


def _login(
    client: httpx.Client, audience: str, report: DevPkiReport, name: str
) -> tuple[dict[str, str], str]:
    answer = perform_login(
        client, load_credential(_participant(report, name).pkcs12, DEMO_PASSWORD), audience=audience
    )
    return {"Authorization": f"Bearer {answer['token']}"}, str(answer["identity"]["id"])


def _spec(
    sample: tuple[str, ...], number: int, tenderee: str, custodians: list[str], now: datetime
) -> dict[str, Any]:
    title, project, category, procedure, region, estimate = sample
    bond = str((Decimal(estimate) * 2 / 100).quantize(Decimal("0.01")))  # 2% of the estimate (Regs Art. 26)
    return {
        "title": title,
        "project_name": project,
        "project_code": f"DEMO-2026-{number:03d}",
        "description": f"{project}。本公告由 sealbid 演示生成。",
        "procedure": procedure,
        "category": category,
        "region": region,
        "tenderee_uscc": tenderee,
        "qualification_requirements": ["具有独立法人资格", "近三年无重大违法记录"],
        "lots": [
            {
                "number": 1,
                "name": "第一标段",
                "estimated_price": {"amount": estimate},
                "ceiling_price": {"amount": estimate},
                "bid_bond": {"amount": bond},
            }
        ],
        "evaluation": {
            "method": "comprehensive_scoring",
            "criteria": [
                {"name": "技术", "kind": "technical", "weight": "50"},
                {"name": "商务", "kind": "commercial", "weight": "10"},
                {"name": "报价", "kind": "price", "weight": "40"},
            ],
            "committee_size": 5,
        },
        "timetable": {
            "publication_time": now.isoformat(),
            "document_period_end": (now + timedelta(days=7)).isoformat(),
            "clarification_deadline": (now + timedelta(days=10)).isoformat(),
            "bid_deadline": (now + timedelta(days=21)).isoformat(),
            "evaluation_date": (now + timedelta(days=22)).isoformat(),
            "publicity_days": 3,
        },
        # the first tender asks bidders to add their own decryption layer (Measures Art. 30)
        "opening": {"custodians": custodians, "threshold": 2, "bidder_decryption": number == 1},
    }


def publish_demo_tenders(
    client: httpx.Client, audience: str, report: DevPkiReport, settle: Callable[[], None], echo: Echo
) -> list[str]:
    """Draft, submit, review and publish the sample tenders; a tenderer obtains a document. Their ids."""
    agency, _ = _login(client, audience, report, "agency")
    reviewer, _ = _login(client, audience, report, "reviewer")
    tenderer, _ = _login(client, audience, report, "tenderer-1")
    custodians = [_login(client, audience, report, f"custodian-{i}")[1] for i in (1, 2, 3)]
    tenderee = _participant(report, "tenderee").subject_id
    ids: list[str] = []
    documents: list[str] = []
    for number, sample in enumerate(SAMPLES, start=1):
        spec = _spec(sample, number, tenderee, custodians, datetime.now(UTC))
        tender = call(client, "POST", "/agency/tenders", json=spec, headers=agency)
        text = f"{sample[1]} 招标文件（演示）\n".encode()
        document = call(
            client,
            "POST",
            f"/agency/tenders/{tender['id']}/documents",
            params={"name": "招标文件.txt"},
            content=text,
            headers={**agency, "Content-Type": "text/plain; charset=utf-8"},
        )
        call(client, "POST", f"/agency/tenders/{tender['id']}/submit", headers=agency)
        call(client, "POST", f"/authority/tenders/{tender['id']}/approve", headers=reviewer)
        ids.append(tender["id"])
        documents.append(document["id"])
        echo(f"    {sample[2]:<8} {sample[0]}: drafted by the agency, submitted, approved by the authority")
    settle()  # the tenders.publish tasks sent after each approval
    public = call(client, "GET", "/public/tenders")
    states = {item["id"]: item["state"] for item in public["items"]}
    published = sum(states.get(i) == "published" for i in ids)
    if published != len(ids):
        raise ClientError(f"only {published} of {len(ids)} approved tenders were published")
    portal = client.get("/announcements", params={"per_page": "100", "lang": "zh-CN"})
    if portal.status_code != 200:
        raise ClientError(f"the portal's announcement list failed: HTTP {portal.status_code}")
    shown = [i for i in ids if f"/announcements/{i}" in portal.text]
    if len(shown) != len(ids):
        raise ClientError(
            f"the portal's /announcements shows {len(shown)} of the {len(ids)} published tenders"
        )
    missing = [sample[0] for sample in SAMPLES if sample[0] not in portal.text]
    if missing:
        raise ClientError(f"the portal's /announcements does not show {', '.join(missing)}")
    echo(
        f"    published: {published} of {len(ids)} at /public/tenders; the portal's /announcements shows them"
    )
    response = client.get(f"/tenders/{ids[0]}/documents/{documents[0]}/download", headers=tenderer)
    if response.status_code != 200:
        raise ClientError(problem_message(response))
    digest = hashlib.sha256(response.content).hexdigest()
    echo(
        f"    tenderer-1 obtained 招标文件.txt (SHA-256 {digest[:16]}...); "
        "the download is recorded, confidential, and logged only as a commitment"
    )
    return ids
