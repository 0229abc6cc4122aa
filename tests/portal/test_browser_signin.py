"""Browser sign-in hand-off: single-use short-lived links, server-side sessions re-checked on every
request, sign-out, anti-forgery tokens, and the tender page's recorded document download."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.identity.audit import Actor, audit_for
from tendering.identity.models import BrowserSession, BrowserSignInLink, Identity, Role
from tendering.identity.registry import revoke_certificate, revoke_role
from tendering.platform import Platform
from tendering.tenders import reading
from tests.identity.conftest import app_client, dev, test_pki  # noqa: F401 - shared fixtures
from tests.portal.signin_helpers import (
    bearer,
    csrf_of,
    download_path,
    link_token,
    sign_in,
    signin_link,
)
from tests.tenders.conftest import Parties, log_types, parties  # noqa: F401 - shared fixtures
from tests.tenders.helpers import published

Client = TestClient  # type: ignore[type-arg]
DOCUMENT = "招标文件第一册：技术规范与工程量清单。".encode() * 100


@pytest.fixture
def tender(platform: Platform, clock: ManualClock, parties: Parties) -> tuple[uuid.UUID, uuid.UUID]:  # noqa: F811
    """A published tender with one released document: ``(tender id, document id)``."""
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": DOCUMENT})
    (document,) = reading.public_detail(platform, tender_id).documents
    return tender_id, document.id


def downloads_of(client: Client, headers: dict[str, str]) -> list[dict[str, object]]:
    answer = client.get("/tenderer/downloads", headers=headers)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, object]] = answer.json()
    return result


def test_link_needs_a_bearer_login_and_a_local_next(app_client: Client, test_pki: BuiltPki) -> None:  # noqa: F811
    assert app_client.post("/auth/browser-link").status_code == 401
    headers = bearer(app_client, test_pki, "tenderer-1")
    for bad in ("https://evil.example/", "//evil.example/x", "announcements", "/a\\b", "/x\ny"):
        answer = app_client.post("/auth/browser-link", json={"next": bad}, headers=headers)
        assert answer.status_code == 400, bad
        assert answer.json()["code"] == "invalid-next"
    answer = app_client.post("/auth/browser-link", json={}, headers=headers)
    assert answer.status_code == 201
    assert answer.json()["url"].startswith("http://127.0.0.1:8000/signin?token=")
    assert answer.json()["next"] == "/announcements"


def test_hand_off_signs_the_browser_in_once(
    app_client: Client,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    platform: Platform,
) -> None:
    link = signin_link(app_client, bearer(app_client, test_pki, "tenderer-1"), "/announcements?lang=en")
    confirm = app_client.get(link)
    assert confirm.status_code == 200
    assert "闽江建设工程有限公司" in confirm.text  # whom the link signs in as, before anything happens
    assert confirm.headers["referrer-policy"] == "same-origin"
    assert "sealbid_session" not in app_client.cookies  # looking does not sign in ...
    assert app_client.get(link).status_code == 200  # ... nor use the link up
    answer = app_client.post("/signin", data={"token": link_token(link)}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/announcements?lang=en"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("sealbid_session=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie  # the test server's public URL is http
    page = app_client.get("/announcements?lang=en")
    assert "Signed in: 闽江建设工程有限公司 (Tenderer)" in page.text
    assert page.headers["cache-control"] == "private, no-store"
    again = app_client.post("/signin", data={"token": link_token(link)}, follow_redirects=False)
    assert again.status_code == 401
    assert 'data-code="signin-link-invalid"' in again.text
    with platform.session_factory() as session:
        (stored,) = session.scalars(select(BrowserSession)).all()
        assert stored.secret_sha256 != app_client.cookies["sealbid_session"]  # only a digest is kept
        identity = session.get(Identity, stored.identity_id)
        assert identity is not None and identity.display_name == "闽江建设工程有限公司"
        assert stored.fingerprint == test_pki.signing("tenderer-1").fingerprint
    assert "identity.browser.signed-in" in log_types(platform)


def test_link_expires_after_sixty_seconds(app_client: Client, test_pki: BuiltPki, clock: ManualClock) -> None:  # noqa: F811
    link = signin_link(app_client, bearer(app_client, test_pki, "tenderer-1"))
    clock.advance(timedelta(seconds=60))
    assert app_client.get(link).status_code == 401
    answer = app_client.post("/signin", data={"token": link_token(link)}, follow_redirects=False)
    assert answer.status_code == 401
    assert "sealbid_session" not in app_client.cookies


def test_garbage_and_foreign_posts_are_refused(app_client: Client, test_pki: BuiltPki) -> None:  # noqa: F811
    assert app_client.post("/signin", data={"token": "x" * 43}).status_code == 401
    assert app_client.post("/signin", data={}).status_code == 401
    link = signin_link(app_client, bearer(app_client, test_pki, "tenderer-1"))
    foreign = app_client.post(
        "/signin",
        data={"token": link_token(link)},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    assert 'data-code="csrf-failed"' in foreign.text
    # the refused post did not spend the link
    ok = app_client.post("/signin", data={"token": link_token(link)}, follow_redirects=False)
    assert ok.status_code == 303


def test_anonymous_tender_page_explains_how_to_sign_in(
    app_client: Client,  # noqa: F811
    tender: tuple[uuid.UUID, uuid.UUID],
) -> None:
    tender_id, document_id = tender
    page = app_client.get(f"/announcements/{tender_id}")
    assert page.status_code == 200
    assert "请以投标人身份登录后下载招标文件" in page.text
    assert f"sealbid login --browser --p12 证书.p12 --next /announcements/{tender_id}" in page.text
    assert download_path(tender_id, document_id) not in page.text
    refused = app_client.post(download_path(tender_id, document_id), data={"csrf_token": "x"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("text/html")
    assert 'data-code="login-required"' in refused.text
    assert "sealbid login --browser" in refused.text


def test_signed_in_tenderer_downloads_and_it_is_recorded(
    app_client: Client,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    platform: Platform,
    tender: tuple[uuid.UUID, uuid.UUID],
) -> None:
    tender_id, document_id = tender
    sign_in(app_client, test_pki, "tenderer-2", f"/announcements/{tender_id}")
    page = app_client.get(f"/announcements/{tender_id}")
    assert "已登录：海峡路桥集团有限公司" in page.text
    assert f'action="{download_path(tender_id, document_id)}"' in page.text
    headers = bearer(app_client, test_pki, "tenderer-2")
    before = len(downloads_of(app_client, headers))
    forged = app_client.post(download_path(tender_id, document_id), data={"csrf_token": "0" * 64})
    assert forged.status_code == 403 and 'data-code="csrf-failed"' in forged.text
    assert app_client.post(download_path(tender_id, document_id)).status_code == 403
    assert len(downloads_of(app_client, headers)) == before  # refused requests recorded nothing
    answer = app_client.post(download_path(tender_id, document_id), data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 200, answer.text
    assert answer.content == DOCUMENT
    assert hashlib.sha256(answer.content).hexdigest() == answer.headers["x-content-sha256"]
    assert answer.headers["content-disposition"].startswith("attachment;")
    (record,) = downloads_of(app_client, headers)[before:]
    assert record["document"] == {
        "id": str(document_id),
        "name": "招标文件.pdf",
        "version": 1,
        "sha256": hashlib.sha256(DOCUMENT).hexdigest(),
    }
    assert record["certificate_fingerprint"] == test_pki.signing("tenderer-2").fingerprint
    assert record["address"] == "testclient"
    assert record["organisation"]["name"] == "海峡路桥集团有限公司"  # type: ignore[index]
    assert "document.downloaded" in log_types(platform)


def test_cookie_never_authorises_the_api(
    app_client: Client,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    tender: tuple[uuid.UUID, uuid.UUID],
) -> None:
    tender_id, document_id = tender
    sign_in(app_client, test_pki, "tenderer-1")
    assert app_client.get("/auth/me").status_code == 401
    assert app_client.get(f"/tenders/{tender_id}/documents/{document_id}/download").status_code == 401
    assert app_client.post("/auth/browser-link").status_code == 401  # a browser cannot mint links


def test_certificate_revocation_ends_the_browser_session(
    app_client: Client,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    platform: Platform,
    tender: tuple[uuid.UUID, uuid.UUID],
) -> None:
    tender_id, document_id = tender
    sign_in(app_client, test_pki, "tenderer-1")
    page = app_client.get(f"/announcements/{tender_id}")
    token = csrf_of(page.text)
    with platform.transaction() as session:
        revoke_certificate(
            session,
            audit_for(platform),
            test_pki.signing("tenderer-1").fingerprint,
            reason="key compromise",
            now=platform.clock.now(),
            actor=Actor.system("console"),
        )
    refused = app_client.post(download_path(tender_id, document_id), data={"csrf_token": token})
    assert refused.status_code == 401
    assert 'data-code="certificate-revoked"' in refused.text
    page = app_client.get(f"/announcements/{tender_id}")
    assert "已登录" not in page.text and "请以投标人身份登录" in page.text


def test_role_revocation_ends_the_right_to_download(
    app_client: Client,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    platform: Platform,
    parties: Parties,  # noqa: F811
    tender: tuple[uuid.UUID, uuid.UUID],
) -> None:
    tender_id, document_id = tender
    sign_in(app_client, test_pki, "tenderer-3")
    token = csrf_of(app_client.get(f"/announcements/{tender_id}").text)
    with platform.transaction() as session:
        identity = session.get(Identity, parties.tenderers[2])
        assert identity is not None
        revoke_role(
            session,
            audit_for(platform),
            identity,
            Role.TENDERER,
            now=platform.clock.now(),
            actor=Actor.system("console"),
        )
    refused = app_client.post(download_path(tender_id, document_id), data={"csrf_token": token})
    assert refused.status_code == 403
    assert 'data-code="role-required"' in refused.text
    page = app_client.get(f"/announcements/{tender_id}")
    assert "没有投标人角色" in page.text and download_path(tender_id, document_id) not in page.text


def test_idle_and_absolute_session_limits(
    app_client: Client,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    clock: ManualClock,
) -> None:
    sign_in(app_client, test_pki, "tenderer-1")
    for _ in range(18):  # active every 29 minutes: still signed in after 8 hours less a bit
        clock.advance(timedelta(minutes=26))
        assert "已登录" in app_client.get("/announcements").text
    clock.advance(timedelta(minutes=29))  # 8 h 17 min after sign-in: past the absolute limit
    page = app_client.get("/announcements")
    assert "已登录" not in page.text
    assert 'sealbid_session=""' in page.headers["set-cookie"]  # the dead cookie is cleared
    sign_in(app_client, test_pki, "tenderer-1")
    clock.advance(timedelta(minutes=30))
    assert "已登录" not in app_client.get("/announcements").text


def test_sign_out_needs_the_form_token_and_ends_the_session(
    app_client: Client,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    platform: Platform,
) -> None:
    sign_in(app_client, test_pki, "tenderer-1")
    page = app_client.get("/announcements")
    cookie = app_client.cookies["sealbid_session"]
    assert app_client.post("/signout", data={"csrf_token": "0" * 64}).status_code == 403
    assert "已登录" in app_client.get("/announcements").text
    answer = app_client.post("/signout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/announcements"
    assert "已登录" not in app_client.get("/announcements").text
    app_client.cookies.set("sealbid_session", cookie)  # a stolen copy of the cookie is dead too
    assert "已登录" not in app_client.get("/announcements").text
    with platform.session_factory() as session:
        (stored,) = session.scalars(select(BrowserSession)).all()
        assert stored.ended_at is not None
        assert session.scalars(select(BrowserSignInLink.used_at)).one() is not None
    assert "identity.browser.signed-out" in log_types(platform)


def test_behind_https_the_cookie_is_host_prefixed_and_secure() -> None:
    from types import SimpleNamespace

    from api.auth import session_cookie_name
    from api.portal.viewer import session_cookie

    public = SimpleNamespace(settings=SimpleNamespace(public_url="https://ztb.example.gov.cn/"))
    cookie = session_cookie(public, "secret")  # type: ignore[arg-type]
    assert session_cookie_name(public) == "__Host-sealbid_session"  # type: ignore[arg-type]
    assert (cookie.key, cookie.secure, cookie.httponly, cookie.samesite, cookie.path, cookie.domain) == (
        "__Host-sealbid_session",
        True,
        True,
        "lax",
        "/",
        None,
    )
    cleared = session_cookie(public, None)  # type: ignore[arg-type]
    assert cleared.value == "" and cleared.max_age == 0
