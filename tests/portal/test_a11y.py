"""Accessibility checked by a real engine, and the objection flow done by keyboard alone.

axe-core (``scripts/axe.sh`` installs it from npm into ``build/axe/``) is injected into each
page in Debian's Chromium, driven by Playwright, and run with the WCAG 2.0/2.1 A and AA
rules: every public page, the code, receipt and status pages, an error page, a form
showing an error, and the console's pages, in English, French, German and Greek. No
violation is allowed. Screenshots of the home and form pages land in ``test-artifacts/``.
The tests skip on a developer's machine without Chromium or axe-core, and fail in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from notrain.portal.pages import KINDS
from tests.portal.fixtures import OFFICER, PASSWORD
from tests.portal.server import running_portal, wait_for_code
from tests.registry.fixtures import ACCOUNT_ROWS, ALICE, STRANGER

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("NOTRAIN_AXE_JS", ROOT / "build/axe/node_modules/axe-core/axe.min.js"))
ARTIFACTS = ROOT / "test-artifacts"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = ["en", "fr", "de", "el"]

pytestmark = pytest.mark.browser


def _missing(what: str) -> None:
    message = f"{what}; scripts/chromium.sh and scripts/axe.sh install it"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing")
    if not AXE.exists():
        _missing(f"{AXE} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A server with an officer and requests in every stage a page shows."""
    folder = tmp_path_factory.mktemp("a11y")
    accounts = folder / "accounts.parquet"
    _write_accounts(accounts)
    env = {
        "NOTRAIN_DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "NOTRAIN_ACCOUNTS_PATH": str(accounts),
        "NOTRAIN_OUTBOX_DIR": str(folder / "outbox"),
        "NOTRAIN_SECRET_KEY": "a11y-test-secret-key-0123456789",
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
    }
    subprocess.run(
        [sys.executable, "-m", "notrain.cli", "admin", "create-user", OFFICER, "--password-stdin"],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        env={**os.environ, **env}, cwd=folder,
    )  # fmt: skip
    with running_portal(env, folder) as base:
        outbox = folder / "outbox"
        waiting = _submit(base, "someone@example.net", "objection")
        received = _submit(base, STRANGER, "objection", names=["Dana Stranger"])
        _verify(base, outbox, received, STRANGER)
        answered = _submit(base, ALICE, "objection")
        _verify(base, outbox, answered, ALICE)
        yield {
            "base": base, "outbox": str(outbox), "waiting": waiting, "received": received,
            "answered": answered,
        }  # fmt: skip


def _write_accounts(path: Path) -> None:
    """The registry tests' accounts (Alice is a member with two accounts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from notrain.contracts import ACCOUNTS

    created = datetime(2020, 1, 1, tzinfo=UTC)
    columns = ("user_id", "handle", "email", "country")
    table: dict[str, list[Any]] = {
        name: [row[n] for row in ACCOUNT_ROWS] for n, name in enumerate(columns)
    }
    rows = len(ACCOUNT_ROWS)
    table |= {"birth_date": [None] * rows, "created_at": [created] * rows}
    pq.write_table(pa.table(table).cast(ACCOUNTS), path)


def _submit(base: str, email: str, kind: str, **extra: Any) -> str:
    body = {"kind": kind, "email": email, "country": "DE", **extra}
    answer = httpx.post(f"{base}/api/v1/requests", json=body)
    assert answer.status_code == 202, answer.text
    request_id: str = answer.json()["request_id"]
    return request_id


def _verify(base: str, outbox: Path, request_id: str, email: str) -> None:
    code = wait_for_code(outbox, email)
    answer = httpx.post(f"{base}/api/v1/requests/{request_id}/verify", json={"code": code})
    assert answer.status_code == 200, answer.text


def _context(chromium: Any, base: str, language: str) -> Any:
    context = chromium.new_context(bypass_csp=True)  # the pages forbid scripts; axe is ours
    context.add_cookies([{"name": "notrain_lang", "value": language, "url": base}])
    return context


def _violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    assert len(result["passes"]) > 5  # the engine really checked the page
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _public_pages(portal: dict[str, str]) -> list[str]:
    return [
        "/", "/policy", *(f"/request/{kind}" for kind in KINDS),
        f"/requests/{portal['waiting']}/code", f"/requests/{portal['waiting']}",
        f"/requests/{portal['received']}/receipt", f"/requests/{portal['received']}",
        f"/requests/{portal['answered']}", "/no-such-page",
    ]  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
def test_public_pages_have_no_wcag_a_or_aa_violation(
    chromium: Any, portal: dict[str, str], language: str
) -> None:
    base = portal["base"]
    context = _context(chromium, base, language)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    for path in _public_pages(portal):
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == language, path
        found[path] = _violations(page)
        if path in ("/", "/request/objection"):
            _shot(page, f"i18n-{'home' if path == '/' else 'form'}-{language}")
    # A form sent back with an error: the message is tied to its field.
    page.goto(base + "/request/objection")
    page.locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    assert page.locator("[aria-invalid=true]").count() >= 1
    found["/request/objection (with an error)"] = _violations(page)
    # The engine does catch a fault: the same page with its field's label taken away.
    page.evaluate("document.querySelectorAll('label').forEach(l => l.remove())")
    assert any(v.startswith("label ") or v.startswith("select-name") for v in _violations(page))
    context.close()
    assert {path: v for path, v in found.items() if v} == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_console_pages_have_no_wcag_a_or_aa_violation(
    chromium: Any, portal: dict[str, str], language: str
) -> None:
    base = portal["base"]
    context = _context(chromium, base, language)
    page = context.new_page()
    page.goto(base + "/console/login")
    found = {"/console/login": _violations(page)}
    page.locator("#username").fill(OFFICER)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(base + "/console")
    for path in (
        "/console", f"/console/requests/{portal['received']}", "/console/reports",
        "/console/audit",
    ):  # fmt: skip
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == language, path
        found[path] = _violations(page)
    context.close()
    assert {path: v for path, v in found.items() if v} == {}


def _focused(page: Any) -> dict[str, str]:
    info: dict[str, str] = page.evaluate(
        """() => {
            const e = document.activeElement;
            const style = getComputedStyle(e);
            return {tag: e.tagName.toLowerCase(), id: e.id || '', name: e.name || '',
                    text: (e.innerText || e.value || '').trim(), href: e.getAttribute('href') || '',
                    outline: style.outlineStyle + ' ' + style.outlineWidth};
        }"""
    )
    return info


def _tab_to(page: Any, wanted: Any, limit: int = 80) -> dict[str, str]:
    """Press Tab until ``wanted(focused)`` holds; every stop must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if focused["tag"] != "body":
            assert not focused["outline"].startswith("none"), f"focus not visible: {focused}"
        if wanted(focused):
            return focused
    raise AssertionError("never reached by Tab")


def test_an_objection_can_be_made_with_the_keyboard_alone(
    chromium: Any, portal: dict[str, str]
) -> None:
    base, outbox = portal["base"], Path(portal["outbox"])
    context = _context(chromium, base, "fr")
    page = context.new_page()
    page.goto(base + "/")
    # The skip link comes first and takes focus to the content.
    page.keyboard.press("Tab")
    assert _focused(page)["href"] == "#main"
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == "main"
    _tab_to(page, lambda f: f["href"] == "/request/objection")
    page.keyboard.press("Enter")
    page.wait_for_url("**/request/objection")
    _tab_to(page, lambda f: f["name"] == "email")
    page.keyboard.type("keyboard.only@example.org")
    _tab_to(page, lambda f: f["name"] == "country")
    page.keyboard.type("Allemagne")  # typing picks the option, as in any select
    assert page.locator("select[name=country]").input_value() == "DE"
    _tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Envoyer")
    page.keyboard.press("Enter")
    page.wait_for_url("**/code")
    _tab_to(page, lambda f: f["name"] == "code")
    page.keyboard.type(wait_for_code(outbox, "keyboard.only@example.org"))
    page.keyboard.press("Enter")  # submits the code's form
    page.wait_for_url("**/receipt?token=*")  # the status token comes with the receipt
    assert page.get_by_role("heading", name="Merci : votre demande est confirmée").is_visible()
    _tab_to(page, lambda f: "/requests/req-" in f["href"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/requests/req-*")
    context.close()
