"""What must not be kept or read by others (issue 20, finding 4): personal answers of the
API are never cached, /metrics answers only its token or loopback, the outbox and the
SQLite database are their owner's alone."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from notrain.mail.message import compose
from notrain.mail.transport import OutboxTransport
from notrain.portal import create_app
from notrain.registry.db import create_registry_engine
from notrain.settings import Settings
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, FakeClock


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_api_answers_with_personal_data_are_never_cached(client: Site, api_key: str) -> None:
    receipt = client.client.post(
        "/api/v1/requests", json={"kind": "objection", "email": ALICE, "country": "DE"}
    ).json()
    outcome = client.client.post(
        f"/api/v1/requests/{receipt['request_id']}/verify", json={"code": client.code(ALICE)}
    )
    keyed = {"x-api-key": api_key}
    answers = [
        outcome,
        client.client.get(outcome.json()["status_url"].replace("/requests", "/api/v1/requests")),
        client.client.get("/api/v1/subjects/1/status", headers=keyed),
        client.client.post("/api/v1/subjects/status", json={"user_ids": [1, 2]}, headers=keyed),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store", answer.request.url


def test_metrics_need_the_token_or_loopback(portal_settings: Settings, clock: FakeClock) -> None:
    open_app = create_app(portal_settings, clock=clock, deliver_mail=False)
    with TestClient(open_app, client=("127.0.0.1", 5000)) as local:
        assert local.get("/metrics").status_code == 200
        for address in ("203.0.113.5", "10.0.0.8"):
            away = TestClient(open_app, client=(address, 5000)).get("/metrics")
            assert away.status_code == 403
            assert "notrain_" not in away.text
    secret = "metrics-token-0123456789"
    settings = portal_settings.model_copy(update={"metrics_token": SecretStr(secret)})
    locked = create_app(settings, clock=clock, deliver_mail=False)
    with TestClient(locked, client=("203.0.113.5", 5000)) as remote:
        assert remote.get("/metrics").status_code == 403
        assert remote.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 403
        good = remote.get("/metrics", headers={"authorization": f"Bearer {secret}"})
        assert good.status_code == 200
        assert "notrain_verification_failures_last_hour" in good.text
        # With a token set, loopback needs it too: a local process is no proof of anything.
        loop = TestClient(locked, client=("127.0.0.1", 5000)).get("/metrics")
        assert loop.status_code == 403


def test_outbox_messages_are_the_owners_alone(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        outbox = OutboxTransport(tmp_path / "mail" / "outbox")
        message = compose(
            sender="a@example.org", to=ALICE, subject="Code", body="123456", at=datetime.now(UTC)
        )
        outbox.send(message)
    finally:
        os.umask(old)
    assert _mode(outbox.folder) == 0o700
    files = list(outbox.folder.glob("*.eml"))
    assert len(files) == 1
    assert _mode(files[0]) == 0o600


def test_a_new_sqlite_registry_is_the_owners_alone(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "db" / "registry.db"
        engine = create_registry_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        engine.dispose()
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
