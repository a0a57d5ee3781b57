"""CSRF, rate limits, headers, body size, console sessions: each refusal proven."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from notrain.portal import create_app
from notrain.settings import Settings
from tests.portal.fixtures import PASSWORD, Site
from tests.registry.fixtures import ALICE, STRANGER, FakeClock


def test_forms_without_the_token_are_refused(client: Site) -> None:
    data = {"email": ALICE, "country": "DE"}
    none = client.client.post("/request/objection", data=data, follow_redirects=False)
    assert none.status_code == 403
    forged = client.client.post(
        "/request/objection", data={**data, "csrf_token": "0" * 64}, follow_redirects=False
    )
    assert forged.status_code == 403
    token = client.token("/request/objection")
    client.client.cookies.clear()  # another browser: the token is not its own
    stolen = client.client.post(
        "/request/objection", data={**data, "csrf_token": token}, follow_redirects=False
    )
    assert stolen.status_code == 403
    with client.portal.registry() as registry:
        assert registry.list() == []


def test_cross_site_posts_are_refused_even_with_a_token(client: Site) -> None:
    data = {"email": ALICE, "country": "DE", "csrf_token": client.token("/request/objection")}
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        answer = client.client.post("/request/objection", data=data, headers=headers)
        assert answer.status_code == 403
    same = client.client.post(
        "/request/objection", data=data, headers={"origin": "http://testserver",
                                                  "sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )  # fmt: skip
    assert same.status_code == 303


def test_security_headers_on_pages_errors_and_api(client: Site) -> None:
    for answer in (
        client.client.get("/"),
        client.client.get("/missing"),
        client.client.get("/api/v1/policy"),
        client.client.post("/api/v1/requests", content=b"x" * 100_000),
    ):
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "script-src" not in csp  # default-src 'none': no script at all
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


def test_oversized_bodies_are_refused_early(client: Site) -> None:
    declared = client.client.post(
        "/request/objection", content=b"email=" + b"a" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"a" * 1024

    streamed = client.client.post(
        "/api/v1/requests", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["type"] == "BodyTooLarge"


@pytest.fixture
def strict_app(portal_settings: Settings, clock: FakeClock) -> FastAPI:
    settings = portal_settings.model_copy(
        update={"portal_ip_rate_limit": 3, "portal_email_rate_limit": 2,
                "portal_login_rate_limit": 2}
    )  # fmt: skip
    return create_app(settings, clock=clock, deliver_mail=False)


def test_rate_limits_per_address_and_per_email(strict_app: FastAPI, clock: FakeClock) -> None:
    with TestClient(strict_app) as c:
        body = {"kind": "objection", "email": STRANGER, "country": "DE"}
        assert c.post("/api/v1/requests", json=body).status_code == 202
        clock.advance(minutes=2)  # past the registry's cooldown between codes
        assert c.post("/api/v1/requests", json=body).status_code == 202  # same request again
        clock.advance(minutes=2)
        per_email = c.post("/api/v1/requests", json=body)
        assert per_email.status_code == 429
        assert "this address" in per_email.json()["error"]["message"]
        per_ip = c.post("/api/v1/requests", json={**body, "email": ALICE})
        assert per_ip.status_code == 429
        assert "from this address" in per_ip.json()["error"]["message"]
        assert int(per_ip.headers["retry-after"]) >= 1


def test_sign_in_attempts_are_limited(strict_app: FastAPI) -> None:
    with TestClient(strict_app) as c:
        site = Site(c, outbox=Path(strict_app.state.portal.settings.outbox_dir))
        assert site.sign_in("olga", "wrong password!").status_code == 401
        assert site.sign_in("olga", "wrong password!").status_code == 401
        assert site.sign_in("olga", "wrong password!").status_code == 429


def _session_cookie(answer: object) -> str:
    header = str(answer.headers.get("set-cookie", ""))  # type: ignore[attr-defined]
    assert "notrain_session=" in header
    return header


@pytest.mark.usefixtures("officer")
def test_session_cookie_is_httponly_strict_and_rotated_at_sign_in(client: Site) -> None:
    planted = "attacker-chosen-session-token-value-0123456789"
    client.client.cookies.set("notrain_session", planted)
    answer = client.sign_in()
    assert answer.status_code == 303
    cookie = _session_cookie(answer)
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    token = re.search(r"notrain_session=([^;]+)", cookie)
    assert token
    assert token.group(1) != planted
    assert client.client.get("/console").status_code == 200
    # A second sign-in ends the first session: its token no longer works.
    client.sign_in()
    stale = TestClient(client.client.app, cookies={"notrain_session": token.group(1)})
    assert stale.get("/console", follow_redirects=False).status_code == 303


def test_secure_cookies_use_host_prefix(portal_settings: Settings, clock: FakeClock,
                                        officer: str) -> None:  # fmt: skip
    del officer
    app = create_app(portal_settings.model_copy(update={"portal_secure_cookies": True}),
                     clock=clock, deliver_mail=False)  # fmt: skip
    with TestClient(app, base_url="https://testserver") as c:
        page = c.get("/console/login")
        assert "__Host-notrain_csrf=" in page.headers["set-cookie"]
        assert "Secure" in page.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert token
        answer = c.post("/console/login", data={"username": "olga", "password": PASSWORD,
                                                "csrf_token": token.group(1)},
                        follow_redirects=False)  # fmt: skip
        assert answer.status_code == 303
        assert "__Host-notrain_session=" in answer.headers["set-cookie"]


def test_sign_out_ends_the_session(signed_in: Site) -> None:
    token = signed_in.client.cookies.get("notrain_session")
    answer = signed_in.post_form("/console", "/console/logout", {})
    assert answer.status_code == 303
    stale = TestClient(signed_in.client.app, cookies={"notrain_session": token or ""})
    assert stale.get("/console", follow_redirects=False).status_code == 303


def test_sessions_end_when_idle(signed_in: Site) -> None:
    assert signed_in.client.get("/console").status_code == 200
    signed_in.portal.clock.advance(minutes=31)  # type: ignore[attr-defined]
    assert signed_in.client.get("/console", follow_redirects=False).status_code == 303
    as_json = signed_in.client.get("/console?format=json")
    assert as_json.status_code == 401
    assert as_json.json()["error"]["type"] == "NotSignedIn"


def test_health_and_metrics(client: Site) -> None:
    assert client.client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    client.client.get("/requests/req-0000000000000000")
    metrics = client.client.get("/metrics").text
    assert 'route="/requests/{request_id}"' in metrics
    assert "req-0000000000000000" not in metrics  # ids never become labels
