"""Fixtures of the sign-in tests: a real OpenID provider, and the portal configured for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notrain.portal import create_app
from notrain.settings import Settings
from tests.portal.fixtures import (  # noqa: F401 - fixtures
    Site,
    api_key,
    app,
    client,
    portal_settings,
)
from tests.portal.test_browser import browser  # noqa: F401 - fixture
from tests.registry.fixtures import (  # noqa: F401 - fixtures
    FakeClock,
    accounts_path,
    backend,
    clock,
    database_url,
)
from tests.signin.provider import Provider, running_provider, sign_in

CALLBACK = "http://testserver/members/callback"
# The configurable claim: the provider puts the platform's account id in `platform_id`.
PLATFORM_IDS = {"bob.platform": "3"}


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    with running_provider([CALLBACK], PLATFORM_IDS) as running:
        yield running


def member_settings(base: Settings, provider: Provider, **extra: object) -> Settings:
    return base.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": provider.client_id,
            "oidc_client_secret": SecretStr(provider.client_secret),
            **extra,
        }
    )


@pytest.fixture
def member_site(
    portal_settings: Settings,  # noqa: F811
    provider: Provider,
    clock: FakeClock,  # noqa: F811
) -> Iterator[Site]:
    portal = create_app(member_settings(portal_settings, provider), clock=clock,
                        deliver_mail=False)  # fmt: skip
    with TestClient(portal, base_url="http://testserver") as test_client:
        yield Site(test_client, Path(portal_settings.outbox_dir))


def to_provider(site: Site, next_path: str = "") -> str:
    """Click "Continue as a member": the provider's authorization URL."""
    answer = site.client.get("/members/signin", params={"next": next_path} if next_path else {},
                             follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def callback_url(site: Site, login: str, next_path: str = "") -> str:
    """Sign in at the provider as ``login``; the callback it sends back (path and query)."""
    back = sign_in(to_provider(site, next_path), login, stop_at=CALLBACK)
    parts = urlsplit(back)
    return f"{parts.path}?{parts.query}"


def signed_in(site: Site, login: str, next_path: str = "") -> str:
    """Sign in as ``login``; where the portal sends the member after the callback."""
    answer = site.client.get(callback_url(site, login, next_path), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])
