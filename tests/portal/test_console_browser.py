"""A bulk decision in real headless Chromium: filter, preview, confirm, watch it finish."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.portal.fixtures import OFFICER, PASSWORD
from tests.portal.server import running_portal
from tests.portal.test_browser import _shot, browser  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded_site(tmp_path: Path) -> Iterator[str]:
    """A server on a seeded SQLite registry, and an officer account."""
    env = {
        "NOTRAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "NOTRAIN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NOTRAIN_SECRET_KEY": "browser-test-secret-key-0123456789",
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
    }
    for command, stdin in ((["registry", "seed", "--requests", "400", "--seed", "9"], None),
                           (["admin", "create-user", OFFICER, "--password-stdin"],
                            PASSWORD + "\n")):  # fmt: skip
        subprocess.run([sys.executable, "-m", "notrain.cli", *command], input=stdin, text=True,
                       check=True, capture_output=True, env={**os.environ, **env},
                       cwd=tmp_path)  # fmt: skip
    with running_portal(env, tmp_path) as base:
        yield base


def _count(text: str) -> int:
    found = re.search(r"(\d+) requests match", text)
    assert found, text
    return int(found.group(1))


def test_an_officer_accepts_every_request_a_filter_matches(
    browser: object,  # noqa: F811 - the fixture
    seeded_site: str,
) -> None:
    base = seeded_site
    context = browser.new_context(locale="en-GB", java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(base + "/console")
    page.get_by_label("Name").fill(OFFICER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/console")
    page.get_by_text("Filter", exact=True).click()
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("Member").select_option("no")
    page.get_by_role("button", name="Apply the filter").click()
    page.wait_for_url("**country=DE**")
    matching = _count(page.get_by_role("status").first.inner_text())
    assert matching > 0
    _shot(page, "console-bulk-1-filtered")
    page.get_by_label(re.compile("Every request that matches the filter")).check()
    page.get_by_label("Decision").select_option("accept")
    page.get_by_role("button", name="Preview").click()
    assert page.get_by_text(f"You are about to accept {matching} request(s).").is_visible()
    _shot(page, "console-bulk-2-preview")
    page.get_by_role("button", name=f"Confirm: decide {matching} request(s)").click()
    page.wait_for_url("**/console/bulk/bulk-*")
    deadline = time.monotonic() + 60
    while not page.get_by_text("Finished:").is_visible():
        assert time.monotonic() < deadline, page.content()
        time.sleep(0.2)
        page.get_by_role("link", name="Refresh").click()
    status = page.get_by_role("status").inner_text()
    found = re.search(r"(\d+) decided, (\d+) skipped, of (\d+)", status)
    assert found, status
    decided, skipped, total = map(int, found.groups())
    assert total == matching
    assert decided + skipped == matching
    assert decided > 0
    # Access and erasure requests naming more than the proved address need an identity
    # check one by one: the bulk decision skips them, and says why for each.
    why = page.get_by_role("table", name="Skipped requests, and why")
    rows = why.locator("tbody tr")
    assert rows.count() == skipped
    for n in range(skipped):
        assert "checking the requester's identity" in rows.nth(n).inner_text()
    _shot(page, "console-bulk-3-finished")
    page.goto(base + "/console?tab=decide&country=DE&member=no")
    assert _count(page.get_by_role("status").first.inner_text()) == skipped
    page.goto(base + "/console?tab=export&country=DE&member=no")
    assert _count(page.get_by_role("status").first.inner_text()) >= decided
    context.close()
