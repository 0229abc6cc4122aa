"""The pool: field validation, phone normalisation, audited edits and the log without personal data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from experts import pool
from experts.pool_models import Expert, ExpertAudit
from tendering.errors import Forbidden
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.translog.models import LogEntry
from tests.experts.pool_helpers import employer_uscc

ADMIN = Actor(None, "console")


def valid(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "number": "E001",
        "name": "王建国",
        "specialties": "A0101;C0201",
        "region": "350102",
        "employer_uscc": employer_uscc(5),
        "employer_name": "福州建工集团",
        "title": "正高级工程师",
        "phones": "138 0013 8000; +86 (591) 8765 4321",
        "status": "active",
        "unavailable": "2026-12-01..2026-12-03;2027-01-05",
    }
    row.update(overrides)
    return row


def test_valid_fields_are_normalised() -> None:
    fields = pool.parse_fields(valid(specialties="a0101;C0201;A0101"))
    assert isinstance(fields, pool.ExpertFields)
    assert fields.phones == ("+8613800138000", "+8659187654321")
    assert fields.specialties == ("A0101", "C0201")
    assert [(a.isoformat(), b.isoformat()) for a, b in fields.unavailable] == [
        ("2026-12-01", "2026-12-03"),
        ("2027-01-05", "2027-01-05"),
    ]


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"number": "bad number!"}, "number"),
        ({"name": ""}, "name"),
        ({"specialties": "Z99"}, "specialties"),
        ({"specialties": ""}, "specialties"),
        ({"region": "12345"}, "region"),
        ({"employer_uscc": "91350102MA00000001"}, "employer_uscc"),
        ({"phones": "12345"}, "phones"),
        ({"phones": ""}, "phones"),
        ({"phones": "13800138000;+8613800138000"}, "phones"),
        ({"status": "asleep"}, "status"),
        ({"unavailable": "2026-12-05..2026-12-01"}, "unavailable"),
        ({"unavailable": "next week"}, "unavailable"),
        ({"certificate_sha256": "abc"}, "certificate_sha256"),
    ],
)
def test_each_bad_field_is_named(overrides: dict[str, Any], column: str) -> None:
    errors = pool.parse_fields(valid(**overrides))
    assert isinstance(errors, list)
    assert [e.column for e in errors] == [column]


def test_edits_are_audited_and_logged_without_personal_data(platform: Platform) -> None:
    fields = pool.parse_fields(valid())
    assert isinstance(fields, pool.ExpertFields)
    with platform.transaction() as session:
        expert, changed, created = pool.upsert(session, platform, fields, actor=ADMIN)
        expert_id = expert.id
    assert created and "phones" in changed
    with platform.transaction() as session:
        _, unchanged, _ = pool.upsert(session, platform, fields, actor=ADMIN)
    assert unchanged == []
    moved = pool.parse_fields(valid(phones="13900139000", title="教授级高工"))
    assert isinstance(moved, pool.ExpertFields)
    with platform.transaction() as session:
        _, changed, created = pool.upsert(session, platform, moved, actor=ADMIN)
    assert (sorted(changed), created) == (["phones", "title"], False)
    with platform.transaction() as session:
        pool.set_status(session, platform, expert_id, "suspended", actor=ADMIN)
    with platform.session_factory() as session:
        audit = [
            (a.action, a.changed_fields)
            for a in session.scalars(select(ExpertAudit).order_by(ExpertAudit.at))
        ]
        stored = session.get(Expert, expert_id)
        assert stored is not None and stored.status == "suspended"
    assert [a[0] for a in audit] == ["created", "updated", "updated"]
    assert audit[2][1] == ["status"]
    platform.translog.sequence()
    with platform.session_factory() as session:
        log = [json.loads(bytes(e)) for e in session.scalars(select(LogEntry.entry))]
    changes = [e for e in log if e["type"] == "experts.pool_changed"]
    assert len(changes) == 3
    text = json.dumps(log, ensure_ascii=False)
    for secret in ("王建国", "8613800138000", "13900139000", "福州建工集团", employer_uscc(5)):
        assert secret not in text


def test_only_pool_roles_edit(platform: Platform) -> None:
    fields = pool.parse_fields(valid())
    assert isinstance(fields, pool.ExpertFields)
    for role in ("agency", "tenderer", "expert"):
        with platform.transaction() as session, pytest.raises(Forbidden):
            pool.upsert(session, platform, fields, actor=Actor(None, role))
