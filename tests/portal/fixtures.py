"""Fixtures of the portal's tests: the app on SQLite and PostgreSQL, a browser-like client.

The app runs in-process under Starlette's TestClient with mail delivery done explicitly
(``Site.deliver``) so a test reads its code from the outbox without waiting; the browser
tests (``test_browser.py``) run a real uvicorn server instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notrain.portal import create_app
from notrain.portal.context import Portal
from notrain.registry.apikeys import create_api_key
from notrain.registry.campaign import read_codes
from notrain.settings import Settings
from tests.registry.fixtures import FakeClock

OFFICER = "olga"
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
_RECEIPT = re.compile(r"^/requests/(req-[0-9a-f]{16})/receipt\?token=([A-Za-z0-9_-]+)$")


@pytest.fixture
def portal_settings(tmp_path: Path, database_url: str, accounts_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]  # every field has a default
        database_url=database_url,
        accounts_path=str(accounts_path),
        outbox_dir=str(tmp_path / "outbox"),
        secret_key=SecretStr("portal-test-secret-key-0123456789"),
        portal_secure_cookies=False,
        portal_ip_rate_limit=1000,
        portal_email_rate_limit=100,
    )


@pytest.fixture
def app(portal_settings: Settings, clock: FakeClock) -> FastAPI:
    return create_app(portal_settings, clock=clock, deliver_mail=False)


@dataclass
class Site:
    """A browser without JavaScript: follows links, posts forms with their token."""

    client: TestClient
    outbox: Path
    tokens: dict[str, str] = field(default_factory=dict)  # status tokens by request id

    @property
    def portal(self) -> Portal:
        portal: Portal = self.client.app.state.portal  # type: ignore[attr-defined]
        return portal

    def token(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        match = _CSRF.search(page.text)
        assert match, f"no anti-forgery token on {path}"
        return match.group(1)

    def post_form(self, page: str, action: str, data: dict[str, Any], **kw: Any) -> Any:
        return self.client.post(
            action, data={**data, "csrf_token": self.token(page)}, follow_redirects=False, **kw
        )

    def deliver(self) -> None:
        self.portal.mail.deliver_once()

    def code(self, email: str) -> str:
        self.deliver()
        return read_codes(self.outbox)[email]

    def submit(self, kind: str = "objection", **fields: str) -> str:
        """Submits the form; returns the request id from the redirect."""
        answer = self.post_form(f"/request/{kind}", f"/request/{kind}", fields)
        assert answer.status_code == 303, answer.text
        found = re.match(r"/requests/(req-[0-9a-f]{16})/code", answer.headers["location"])
        assert found
        return found.group(1)

    def confirm(self, request_id: str, email: str) -> Any:
        """Enters the mailed code; keeps the status token the receipt's link carries."""
        code_page = f"/requests/{request_id}/code"
        answer = self.post_form(code_page, code_page, {"code": self.code(email)})
        found = _RECEIPT.match(answer.headers.get("location", ""))
        if found:
            self.tokens[found.group(1)] = found.group(2)
        return answer

    def status_path(self, request_id: str, suffix: str = "", *, api: bool = False) -> str:
        """The link to a confirmed request's page ``suffix``, with its status token."""
        base = "/api/v1/requests" if api else "/requests"
        return f"{base}/{request_id}{suffix}?token={self.tokens[request_id]}"

    def sign_in(self, username: str = OFFICER, password: str = PASSWORD) -> Any:
        return self.post_form(
            "/console/login", "/console/login", {"username": username, "password": password}
        )


@pytest.fixture
def client(app: FastAPI, portal_settings: Settings) -> Iterator[Site]:
    with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000)) as test_client:
        yield Site(test_client, Path(portal_settings.outbox_dir))


@pytest.fixture
def officer(client: Site) -> str:
    with client.portal.registry() as registry:
        registry.create_officer(OFFICER, PASSWORD, actor="test")
    return OFFICER


@pytest.fixture
def signed_in(client: Site, officer: str) -> Site:
    del officer  # made first
    answer = client.sign_in()
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def api_key(client: Site) -> str:
    with client.portal.registry() as registry:
        _, key = create_api_key(registry.session, "ingest", now=registry.now(), actor="test")
    return key
