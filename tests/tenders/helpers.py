"""Shortcuts for tender tests: actors, a tender at a given stage, refusal checks."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tendering.clock import ManualClock
from tendering.errors import SealbidError
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tenders import service
from tendering.tenders.documents import Download, download_document, upload_document
from tendering.tenders.models import Tender
from tendering.tenders.schedule import tick
from tendering.tenders.views import DocumentView, TenderDetail
from tests.tenders.conftest import Parties, make_spec


def agency(parties: Parties) -> Actor:
    return parties.actor(parties.agency, "agency", "198.51.100.7")


def authority(parties: Parties) -> Actor:
    return parties.actor(parties.authority, "authority", "203.0.113.9")


def draft(platform: Platform, clock: ManualClock, parties: Parties, **overrides: object) -> TenderDetail:
    return service.create_draft(platform, make_spec(parties, clock.now(), **overrides), actor=agency(parties))


def published(
    platform: Platform, clock: ManualClock, parties: Parties, *, documents: dict[str, bytes] | None = None
) -> uuid.UUID:
    """A tender published an hour from now (then the clock is at its publication), with documents."""
    tender_id = draft(platform, clock, parties).summary.id
    for name, data in (documents or {}).items():
        upload(platform, parties, tender_id, name, data)
    service.submit(platform, tender_id, actor=agency(parties))
    service.approve(platform, tender_id, actor=authority(parties))
    clock.advance(timedelta(hours=1))
    # The tick publishes it, unless a running app's in-process worker ran the tenders.publish task
    # (sent at the approval) first; either way it is published exactly once, now.
    assert tick(platform).published in ((tender_id,), ())
    assert state_of(platform, tender_id) == "published"
    return tender_id


def state_of(platform: Platform, tender_id: uuid.UUID) -> str:
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        return tender.state


def refused(
    error: type[SealbidError], code: str, call: Callable[..., Any], *args: object, **kwargs: object
) -> SealbidError:
    with pytest.raises(error) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.detail
    return caught.value


def upload(
    platform: Platform, parties: Parties, tender_id: uuid.UUID, name: str, data: bytes
) -> DocumentView:
    """Upload a document version as the agency."""
    return upload_document(
        platform, tender_id, name, io.BytesIO(data), actor=agency(parties), media_type="application/pdf"
    )


def tenderer(parties: Parties, index: int = 0) -> Actor:
    """Tenderer number ``index`` acting from its own address."""
    return parties.actor(parties.tenderers[index], "tenderer", f"192.0.2.{20 + index}")


def fetch(
    platform: Platform, parties: Parties, tender_id: uuid.UUID, document_id: uuid.UUID, index: int = 0
) -> Download:
    """Tenderer ``index`` downloads a document."""
    who = parties.tenderers[index]
    return download_document(
        platform,
        tender_id,
        document_id,
        actor=tenderer(parties, index),
        fingerprint=parties.fingerprints[who],
    )
