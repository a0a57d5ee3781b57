"""Real Chromium downloads a receipt from a real server; the stand-alone script checks it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.portal.server import running_portal, wait_for_code
from tests.portal.test_browser import ARGS, CHROMIUM
from tests.proofs.fixtures import SCRIPT
from tests.registry.fixtures import ALICE

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing; scripts/chromium.sh installs it")
        pytest.skip(f"{CHROMIUM} is missing; scripts/chromium.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _check(receipt: Path, key: str, script: Path = SCRIPT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(script), str(receipt), "--key", key],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_a_person_downloads_a_receipt_and_checks_it_with_the_script(
    browser: Any, tmp_path: Path, accounts_path: Path
) -> None:
    env = {
        "NOTRAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "NOTRAIN_ACCOUNTS_PATH": str(accounts_path),
        "NOTRAIN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NOTRAIN_SECRET_KEY": "browser-test-secret-key-0123456789",
        "NOTRAIN_TRANSPARENCY_KEY_FILE": str(tmp_path / "transparency.key"),
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
    }
    with running_portal(env, tmp_path) as base:
        request_id = httpx.post(f"{base}/api/v1/requests",
                                json={"kind": "objection", "email": ALICE, "country": "DE"},
                                ).json()["request_id"]  # fmt: skip
        code = wait_for_code(tmp_path / "outbox", ALICE)
        verified = httpx.post(f"{base}/api/v1/requests/{request_id}/verify", json={"code": code})
        assert verified.json()["state"] == "accepted"
        token = verified.json()["status_token"]
        key = httpx.get(f"{base}/transparency/key").json()["public_key"]

        context = browser.new_context(
            locale="en-GB", java_script_enabled=False, accept_downloads=True
        )
        page = context.new_page()
        page.goto(f"{base}/requests/{request_id}?token={token}")
        page.get_by_role("link", name="Your receipts and proofs").click()
        page.wait_for_url("**/proofs?token=*")
        assert page.get_by_role("heading", name="Receipt", exact=True).is_visible()
        with page.expect_download() as info:
            page.locator("#download-receipt").click()
        saved = tmp_path / "my-receipt.json"
        info.value.save_as(saved)
        page.goto(f"{base}/transparency")
        assert key in page.content()
        with page.expect_download() as script:
            page.get_by_role("link", name="verify_receipt.py").click()
        downloaded = tmp_path / "verify_receipt.py"
        script.value.save_as(downloaded)
        context.close()

    assert downloaded.read_bytes() == SCRIPT.read_bytes()
    checked = _check(saved, key, downloaded)  # the script as downloaded from the registry
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"receipt of {request_id} (objection, accepted) holds" in checked.stdout
    document = json.loads(saved.read_text())
    document["steps"][-1]["state"] = document["state"] = "rejected"  # a changed claim
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    failed = _check(tampered, key)
    assert failed.returncode == 1
    assert "DOES NOT HOLD" in failed.stdout
