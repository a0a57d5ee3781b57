"""Real headless Chromium (Debian's package) against a real server, as people use it.

Run in CI always; on a developer's machine they skip only when /usr/bin/chromium is
missing (``scripts/chromium.sh`` installs it). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.portal.fixtures import OFFICER, PASSWORD
from tests.portal.server import running_portal, wait_for_code

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} is missing; scripts/chromium.sh installs it")
        pytest.skip(f"{CHROMIUM} is missing; scripts/chromium.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def site(tmp_path: Path, accounts_path: Path) -> Iterator[tuple[str, Path]]:
    """A server on SQLite with outbox mail, and an officer account."""
    env = {
        "NOTRAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "NOTRAIN_ACCOUNTS_PATH": str(accounts_path),
        "NOTRAIN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NOTRAIN_SECRET_KEY": "browser-test-secret-key-0123456789",
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
    }
    subprocess.run(
        [sys.executable, "-m", "notrain.cli", "admin", "create-user", OFFICER, "--password-stdin"],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        env={**os.environ, **env}, cwd=tmp_path,
    )  # fmt: skip
    with running_portal(env, tmp_path) as base:
        yield base, tmp_path / "outbox"


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_a_person_objects_in_french_from_the_landing_page(
    browser: object, site: tuple[str, Path]
) -> None:
    base, outbox = site
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    _shot(page, "objection-1-landing-fr")
    page.get_by_role("link", name="M’opposer à l’entraînement de l’IA").click()  # noqa: RUF001
    page.get_by_label("Votre adresse électronique").fill("alice@mail.example.com")
    page.get_by_label("Pays de résidence").select_option("DE")
    _shot(page, "objection-2-form-fr")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_url("**/code")
    assert page.get_by_role("heading", name="Saisissez votre code").is_visible()
    code = wait_for_code(outbox, "alice@mail.example.com")
    page.get_by_label("Code à six chiffres").fill(code)
    _shot(page, "objection-3-code-fr")
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url("**/receipt?token=*")
    assert page.get_by_role("heading", name="Merci : votre demande est confirmée").is_visible()
    status_link = page.get_by_role("link", name="/requests/")
    _shot(page, "objection-4-receipt-fr")
    status_link.click()
    assert page.get_by_text("Répondu (voir votre courriel)").is_visible()
    context.close()


def test_an_officer_decides_a_non_member_request_and_sees_it_in_reports(
    browser: object, site: tuple[str, Path]
) -> None:
    base, outbox = site
    email = "dana.stranger@example.net"
    receipt = httpx.post(f"{base}/api/v1/requests", json={
        "kind": "objection", "email": email, "country": "AT",
        "names": ["Dana <b>Stranger</b>"], "note": "<script>alert(1)</script>",
    }).json()  # fmt: skip
    request_id = receipt["request_id"]
    verified = httpx.post(f"{base}/api/v1/requests/{request_id}/verify",
                          json={"code": wait_for_code(outbox, email)})  # fmt: skip
    assert verified.json()["state"] == "needs_review"

    context = browser.new_context(locale="en-GB", java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(base + "/console")
    page.wait_for_url("**/console/login")
    page.get_by_label("Name").fill(OFFICER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/console")
    _shot(page, "console-1-queue")
    page.get_by_role("link", name=request_id).click()
    assert page.get_by_text("<script>alert(1)</script>").is_visible()  # shown as text
    page.get_by_label("Accept").check()
    _shot(page, "console-2-request")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url("**?done=decided")
    assert "accepted" in page.locator("dl.request").inner_text()
    page.get_by_role("link", name="Reports").click()
    assert page.locator("svg.chart").count() == 4
    table = page.get_by_role("table", name="Requests per country, by kind")
    assert "AT" in table.inner_text()
    _shot(page, "console-3-reports")
    context.close()
