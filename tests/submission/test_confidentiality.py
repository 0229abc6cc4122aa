"""Promise 2: before the opening nobody can tell a tender with no bids from one with three.

Every route of the app (from its route table) is called as every role - anonymous, each tenderer,
agency, tenderee, reviewer, supervisor, expert, custodian, monitor, admin - in two worlds that differ
only in whether three tenderers bid (and one left an unfinished upload). Answers are normalised for what
legitimately differs between two platforms (ids, times, request ids, hashes, signatures) and must be
equal, except each bidder's answers about its own bids. The public log is compared entry by entry
after setting aside the bid entries, each of which must name no tender, no bidder and carry only a
commitment: what remains visible is that *some* bid version was logged somewhere on the platform.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crypto.pki import BuiltPki
from tests.conftest import PG_ADMIN_URL
from tests.submission.worlds import ABSENT, BIDDERS, WALKERS, World, build_world, normalise, normalise_text

SKIPPED_PREFIXES = ("/schema",)  # the OpenAPI document: no data
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_PARAM = re.compile(r"\{(\w+):(\w+)\}")


def _database(template: str, tmp_path: Path, name: str) -> Iterator[str]:
    if PG_ADMIN_URL:
        admin = create_engine(
            PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        database = f"sealbid_w_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{template}"'))
        try:
            yield make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()
    else:
        path = tmp_path / f"{name}.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def worlds(database_template: str, tmp_path: Path, test_pki: BuiltPki) -> Iterator[tuple[World, World]]:
    """The world without bids and the world with three."""
    none_db = _database(database_template, tmp_path, "none")
    three_db = _database(database_template, tmp_path, "three")
    none = build_world(next(none_db), tmp_path / "none", test_pki, bids=0)
    three = build_world(next(three_db), tmp_path / "three", test_pki, bids=3)
    try:
        yield next(none), next(three)
    finally:
        for generator in (three, none, three_db, none_db):
            generator.close()


def _routes(world: World) -> list[tuple[str, str]]:
    app = world.client.app
    found = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith(SKIPPED_PREFIXES)
        for handler in route.route_handlers
        for method in handler.http_methods
        if method in METHOD_ORDER
    }
    return sorted(found, key=lambda r: (METHOD_ORDER.index(r[0]), r[1]))


def _fill(path: str, world: World) -> str:
    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if kind == "uuid":
            if "tender" in name:
                return str(world.tender_id)
            if name == "bid_id":
                return str(world.probe_bid)
            if name == "upload_id":
                return str(world.probe_upload)
            return str(ABSENT)
        return "1" if kind == "int" else "x"

    return _PARAM.sub(value, path)


def _answer(world: World, walker: str, method: str, path: str) -> dict[str, Any]:
    url = _fill(path, world)
    headers = world.headers[walker]
    if method in ("GET", "HEAD", "DELETE"):
        response = world.client.request(method, url, headers=headers)
    else:
        response = world.client.request(method, url, headers=headers, json={})
    media = response.headers.get("content-type", "").split(";")[0]
    answer: dict[str, Any] = {"status": response.status_code, "type": media}
    if not response.content:
        answer["body"] = None
    elif media.endswith("json"):
        answer["body"] = _unordered(normalise(response.json()))
    elif media.startswith("text/") or media.endswith("xml"):
        answer["body"] = normalise_text(response.text)
    if path.startswith("/log") and isinstance(answer.get("body"), str):
        # the platform-wide log size is public by design (test_the_public_log_... checks the entries)
        answer["body"] = re.sub(r"\d+", "<n>", answer["body"])
    return answer


def _unordered(value: Any) -> Any:
    """Lists compared as multisets: rows ordered by random ids differ in order between worlds."""
    if isinstance(value, dict):
        return {k: _unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_unordered(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, ensure_ascii=False))
    return value


def _about_own_bids(walker: str, path: str) -> bool:
    return walker in BIDDERS and path.startswith("/bids")


def test_nobody_can_tell_how_many_bid_before_the_opening(worlds: tuple[World, World]) -> None:
    none, three = worlds
    routes = _routes(none)
    assert ("GET", "/bids") in routes and ("POST", "/bids/uploads/{upload_id:uuid}/finalise") in routes
    differences = []
    answered = set()
    for method, path in routes:
        for walker in WALKERS:
            if _about_own_bids(walker, path):
                continue
            empty, full = _answer(none, walker, method, path), _answer(three, walker, method, path)
            if empty != full:
                differences.append(f"{walker} {method} {path}: {empty} != {full}")
            if full["status"] < 300:
                answered.add((walker, method, path))
    assert not differences, "\n".join(differences[:20])
    # the walk reached real content, not only refusals
    assert ("anonymous", "GET", "/public/tenders/{tender_id:uuid}") in answered
    assert ("tenderer-4", "GET", "/bids") in answered
    assert ("agency", "GET", "/agency/tenders/{tender_id:uuid}") in answered
    assert ("custodian", "GET", "/custodian/tenders/{tender_id:uuid}/opening-key/custodians") in answered
    assert len(answered) > 60, len(answered)


def test_each_bidder_sees_its_own_bid_and_nothing_of_the_others(worlds: tuple[World, World]) -> None:
    _, three = worlds
    for name in BIDDERS:
        listed = three.client.get("/bids", headers=three.headers[name]).json()
        assert [bid["id"] for bid in listed] == [three.bid_ids[name]]
        for other in BIDDERS:
            if other != name:
                answer = three.client.get(f"/bids/{three.bid_ids[other]}", headers=three.headers[name])
                assert answer.status_code == 404
    assert three.client.get("/bids", headers=three.headers["tenderer-4"]).json() == []


def _entries(world: World) -> list[dict[str, Any]]:
    page = world.client.get("/log/entries", params={"start": 0}).json()
    return [json.loads(base64.b64decode(item["entry"])) for item in page["entries"]]


def test_the_public_log_names_no_bidder_and_no_tender(worlds: tuple[World, World]) -> None:
    none, three = worlds
    empty, full = _entries(none), _entries(three)
    bid_entries = [e for e in full if e["type"] == "bid.version"]
    assert len(bid_entries) == 3
    assert not [e for e in empty if e["type"] == "bid.version"]
    for entry in bid_entries:
        assert entry["tender"] is None
        assert set(entry["data"]) == {"commitment"}
        assert set(entry["actor"]) == {"role", "commitment"}  # the operator is hidden
    tender_texts = {str(three.tender_id)} | set(three.bid_ids.values())
    for entry in full:
        if entry["type"].startswith(("bid.", "identity.", "login", "auth")):
            assert not tender_texts & set(re.findall(r"[0-9a-f-]{36}", json.dumps(entry))), entry
    rest = [normalise(e) for e in full if e["type"] != "bid.version"]
    assert rest == [normalise(e) for e in empty]
