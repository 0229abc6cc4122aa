"""Signing a test browser (a TestClient or Playwright) in through the hand-off link, and the parties."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from litestar.testing import TestClient

from crypto.pki import BuiltPki
from tests.identity.conftest import token_for

Client = TestClient  # type: ignore[type-arg]


def bearer(client: Client, test_pki: BuiltPki, name: str) -> dict[str, str]:
    """Log ``name`` (a test PKI participant) in with its certificate; the Authorization header."""
    return token_for(client, test_pki.signing(name))


def signin_link(client: Client, headers: dict[str, str], next_path: str | None = None) -> str:
    """Ask for a browser sign-in link with a bearer login; the link's path and query."""
    body: dict[str, Any] = {"next": next_path} if next_path else {}
    answer = client.post("/auth/browser-link", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    parts = urlsplit(answer.json()["url"])
    return f"{parts.path}?{parts.query}"


def link_token(link: str) -> str:
    """The secret of a sign-in link."""
    return parse_qs(urlsplit(link).query)["token"][0]


def sign_in(client: Client, test_pki: BuiltPki, name: str, next_path: str | None = None) -> Any:
    """The whole hand-off for ``name``: bearer login, link, confirmation page, confirm. The response
    to the confirmation (a 303 to the link's page)."""
    link = signin_link(client, bearer(client, test_pki, name), next_path)
    assert client.get(link).status_code == 200
    answer = client.post("/signin", data={"token": link_token(link)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer


def csrf_of(html: str) -> str:
    """The anti-forgery token a page rendered for its session."""
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found, "the page carries no anti-forgery token"
    return found.group(1)


def download_path(tender_id: uuid.UUID, document_id: uuid.UUID) -> str:
    """The portal's download form target."""
    return f"/announcements/{tender_id}/documents/{document_id}/download"
