"""Session fixation and session tokens, beyond tests/portal/test_security.py.

The fixation attack: the attacker signs in to get a valid token of their own, plants it in
the victim's browser (a cookie set from a sibling site, a shared computer), and waits for
the victim to sign in on top of it. Signing in must give the browser a new token and end
the planted one, so the attacker's token never becomes the victim's session.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from notrain.registry.models import ConsoleSession
from tests.portal.fixtures import OFFICER, PASSWORD, Site
from tests.registry.fixtures import STRANGER

ATTACKER, ATTACKER_PASSWORD = "mallory", "mallory's own long password"


@pytest.fixture
def attacker_token(client: Site, officer: str) -> str:
    del officer
    with client.portal.registry() as registry:
        registry.create_officer(ATTACKER, ATTACKER_PASSWORD, actor="test")
    own = TestClient(client.client.app)  # no `with`: the app's lifespan is the fixture's
    answer = Site(own, client.outbox).sign_in(ATTACKER, ATTACKER_PASSWORD)
    assert answer.status_code == 303
    token = own.cookies.get("notrain_session")
    assert token
    return token


def test_a_planted_session_is_not_the_one_after_sign_in(client: Site, attacker_token: str) -> None:
    request_id = client.submit(email=STRANGER, country="AT", names="Dana Stranger")
    client.confirm(request_id, STRANGER)
    client.client.cookies.set("notrain_session", attacker_token)  # planted
    signed = client.sign_in(OFFICER, PASSWORD)
    assert signed.status_code == 303
    found = re.search(r"notrain_session=([^;]+)", signed.headers["set-cookie"])
    assert found
    victims = found.group(1)
    assert victims != attacker_token

    # The planted token is ended: the attacker holds nothing, not even their own session.
    planted = TestClient(client.client.app, cookies={"notrain_session": attacker_token})
    assert planted.get("/console", follow_redirects=False).status_code == 303
    assert planted.get("/console?format=json").status_code == 401
    # The victim's new token acts as the victim.
    browser = Site(TestClient(client.client.app, cookies={"notrain_session": victims}),
                   client.outbox)  # fmt: skip
    page = f"/console/requests/{request_id}"
    assert browser.post_form(page, f"{page}/decide", {"outcome": "accept"}).status_code == 303
    with client.portal.registry() as registry:
        actors = [e.actor for e in registry.get(request_id).events if e.action == "transition"]
    assert actors[-1] == f"officer:{OFFICER}"


@pytest.mark.usefixtures("officer")
def test_sign_in_rotates_the_anti_forgery_token(client: Site) -> None:
    before_page = "/console/login"
    old_token = client.token(before_page)
    old_cookie = client.client.cookies.get("notrain_csrf")
    assert client.sign_in().status_code == 303
    assert client.client.cookies.get("notrain_csrf") != old_cookie
    stale = client.client.post("/console/logout", data={"csrf_token": old_token},
                               follow_redirects=False)  # fmt: skip
    assert stale.status_code == 403


@pytest.mark.usefixtures("officer")
def test_tokens_are_kept_only_as_hashes_and_never_shown(client: Site) -> None:
    assert client.sign_in().status_code == 303
    token = client.client.cookies.get("notrain_session")
    assert token
    assert len(token) >= 43  # 256 random bits
    with client.portal.registry() as registry:
        rows = registry.session.scalars(select(ConsoleSession)).all()
        assert [r.token_hash for r in rows] != [token]
        for row in registry.session.execute(text("SELECT * FROM console_sessions")):
            assert all(token not in str(value) for value in row)
    for path in ("/console", "/console/audit", "/console/reports", "/console?format=json"):
        assert token not in client.client.get(path).text


@pytest.mark.usefixtures("officer")
@pytest.mark.parametrize(
    "forged", ["", "x", "a" * 129, "' OR '1'='1", "../../etc/passwd", "%00%00"]
)
def test_made_up_session_tokens_sign_no_one_in(client: Site, forged: str) -> None:
    browser = TestClient(client.client.app, cookies={"notrain_session": forged})
    answer = browser.get("/console", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login"
