"""`notrain serve --workers N`: several server processes on one registry, each answering."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.portal.server import running_portal, wait_for_code


@pytest.mark.parametrize("workers", [2])
def test_several_processes_serve_one_registry(tmp_path: Path, workers: int) -> None:
    env = {
        "NOTRAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
        "NOTRAIN_SECRET_KEY": "serve-workers-secret-key-0123456789",
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
        "NOTRAIN_SMTP_HOST": "",
    }
    outbox = tmp_path / "mail"
    with running_portal(
        env, tmp_path, ("--workers", str(workers), "--outbox", str(outbox))
    ) as base:
        ids = []
        with httpx.Client(base_url=base, timeout=30) as http:
            for n in range(8):
                # A new connection each time, so the processes share the requests.
                answer = httpx.post(
                    f"{base}/api/v1/requests",
                    json={"kind": "objection", "email": f"w{n}@example.org", "country": "FR"},
                    timeout=30,
                )
                assert answer.status_code == 202, answer.text
                ids.append(answer.json()["request_id"])
            for n, request_id in enumerate(ids):
                code = wait_for_code(outbox, f"w{n}@example.org")
                answer = http.post(f"/api/v1/requests/{request_id}/verify", json={"code": code})
                assert answer.status_code == 200, answer.text
                assert answer.json()["state"] in ("accepted", "needs_review")  # verified
    assert len(set(ids)) == len(ids)
    log = (tmp_path / "server.log").read_text()
    assert f"{workers} processes" in " ".join(log.split())
    assert "Traceback" not in log
