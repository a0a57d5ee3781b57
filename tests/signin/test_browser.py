"""A member objects in one click, in real Chromium, through the real OpenID provider."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.portal.server import free_port, running_portal
from tests.signin.mail import mails_to
from tests.signin.provider import Provider, running_provider

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
_ELSEWHERE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")  # nothing leaves the machine


@pytest.fixture
def members_site(tmp_path: Path, accounts_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    port = free_port()
    with running_provider([f"http://127.0.0.1:{port}/members/callback"]) as provider:
        env = _env(tmp_path, accounts_path, provider)
        with running_portal(env, tmp_path, port=port) as base:
            yield base, tmp_path, env


def _env(tmp_path: Path, accounts_path: Path, provider: Provider) -> dict[str, str]:
    return {
        "NOTRAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "NOTRAIN_ACCOUNTS_PATH": str(accounts_path),
        "NOTRAIN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NOTRAIN_SECRET_KEY": "browser-test-secret-key-0123456789",
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
        "NOTRAIN_OIDC_ISSUER": provider.issuer,
        "NOTRAIN_OIDC_CLIENT_ID": provider.client_id,
        "NOTRAIN_OIDC_CLIENT_SECRET": provider.client_secret,
    }


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_a_member_objects_in_one_click_and_the_next_export_holds_it(
    browser: object, members_site: tuple[str, Path, dict[str, str]]
) -> None:
    base, folder, env = members_site
    context = browser.new_context(locale="en-GB")  # type: ignore[attr-defined]
    # The provider's development sign-in page asks for a web font: never fetched.
    context.route(_ELSEWHERE, lambda route: route.abort())
    page = context.new_page()
    page.goto(base + "/request/objection")
    _shot(page, "member-1-request-page")
    page.get_by_role("link", name="Continue as a member").click()

    page.wait_for_url(re.compile(r".*/interaction/.*"))
    page.locator("input[name=login]").fill("3")
    page.locator("input[name=password]").fill("any password")
    _shot(page, "member-2-provider-sign-in")
    page.locator("button[type=submit]").first.click()

    page.wait_for_url(re.compile(r".*/members\?kind=objection$"))
    assert page.get_by_text("@bob").is_visible()
    _shot(page, "member-3-one-click")
    page.get_by_role("button", name="Objection to AI training").click()

    page.wait_for_url(re.compile(r".*/receipt\?token=[A-Za-z0-9_-]+$"))
    assert page.get_by_role("heading", name="Thank you: your request is confirmed").is_visible()
    request_id = re.search(r"/requests/(req-[0-9a-f]{16})/receipt", page.url)
    assert request_id
    _shot(page, "member-4-receipt")
    context.close()

    snapshot = folder / "snapshot.parquet"
    exported = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "registry", "export", "--out", str(snapshot)],
        env={**os.environ, **env}, cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    rows = pq.read_table(snapshot).to_pylist()
    assert [(r["subject_id"], r["kind"], r["request_id"]) for r in rows] == [
        (3, "objection", request_id.group(1))
    ]
    assert any("Your objection is accepted" in m for m in _mails(folder))


def _mails(folder: Path) -> list[str]:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = mails_to(folder / "outbox", "bob@example.org")
        if found:
            return found
        time.sleep(0.2)
    return []
