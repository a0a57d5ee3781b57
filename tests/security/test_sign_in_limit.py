"""The sign-in limit per officer name counts the name as the look-up reads it (issue 20,
finding 2): spaces around it or capitals give no spelling a fresh budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from notrain.portal import create_app
from notrain.settings import Settings
from tests.portal.fixtures import OFFICER, PASSWORD, Site
from tests.registry.fixtures import FakeClock


@pytest.fixture
def strict_app(portal_settings: Settings, clock: FakeClock) -> FastAPI:
    settings = portal_settings.model_copy(update={"portal_login_rate_limit": 2})
    return create_app(settings, clock=clock, deliver_mail=False)


@pytest.mark.parametrize("spelling", [" olga", "olga\u2003", "olga\t", "OLGA", "\u00a0Olga "])
def test_no_spelling_of_a_name_gets_a_fresh_budget(strict_app: FastAPI, spelling: str) -> None:
    outbox = Path(strict_app.state.portal.settings.outbox_dir)
    with TestClient(strict_app):  # the app's lifespan
        with strict_app.state.portal.registry() as registry:
            registry.create_officer(OFFICER, PASSWORD, actor="test")
        for n in range(2):  # the name's budget, spent from two client addresses
            site = Site(TestClient(strict_app, client=(f"203.0.113.{n + 1}", 4000)), outbox)
            assert site.sign_in(OFFICER, "wrong password!").status_code == 401
        other = Site(TestClient(strict_app, client=("198.51.100.1", 4000)), outbox)
        refused = other.sign_in(spelling, PASSWORD)
        assert refused.status_code == 429
        assert "notrain_session" not in refused.headers.get("set-cookie", "")
