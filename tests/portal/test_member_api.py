"""The platform's server makes a member's request: POST /api/v1/subjects/{user_id}/requests."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from notrain.registry.apikeys import create_api_key
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, BOB
from tests.signin.mail import mails_to


def _key(site: Site, name: str, *scopes: str) -> str:
    with site.portal.registry() as registry:
        _, key = create_api_key(
            registry.session, name, now=registry.now(), actor="test", scopes=list(scopes)
        )
    return key


@pytest.fixture
def submit_key(client: Site) -> str:
    return _key(client, "settings-page", "submit")


def _post(site: Site, key: str, user_id: int, kind: str = "objection", **headers: str) -> Any:
    return site.client.post(
        f"/api/v1/subjects/{user_id}/requests",
        json={"kind": kind},
        headers={"x-api-key": key, **headers},
    )


def test_the_platform_objects_for_a_member(client: Site, submit_key: str) -> None:
    answer = client.client.post(
        "/api/v1/subjects/3/requests", json={"kind": "objection"},
        headers={"authorization": f"Bearer {submit_key}"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["user_id"], body["kind"], body["state"], body["created"]) == (
        3, "objection", "accepted", True,
    )  # fmt: skip
    request_id = body["request_id"]
    with client.portal.registry() as registry:
        view = registry.get(request_id)
    assert (view.source, view.subjects, view.email) == ("platform", [(3, "platform")], BOB)
    # The token the platform gets opens the member's request, as the code would have.
    assert body["status_url"] == f"/requests/{request_id}?token={body['status_token']}"
    opened = client.client.get(
        f"/api/v1/requests/{request_id}",
        headers={"authorization": f"Bearer {body['status_token']}"},
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["stage"] == "answered"
    assert client.client.get(f"/api/v1/requests/{request_id}").status_code == 404
    assert {e.actor for e in view.events if e.action in ("submitted", "transition")} >= {
        "api_key:settings-page"
    }
    verified = next(e for e in view.events if e.detail.get("to_state") == "verified")
    assert verified.detail["api_key"] == "settings-page"

    client.deliver()
    mails = mails_to(client.outbox, BOB)
    assert len(mails) == 1
    assert "Your objection is accepted" in mails[0]

    status_key = _key(client, "ingest", "status")
    status = client.client.get("/api/v1/subjects/3/status", headers={"x-api-key": status_key})
    assert status.status_code == 200
    assert status.json()["objected"] is True


def test_a_key_without_the_submit_scope_gets_403(client: Site, api_key: str) -> None:
    answer = _post(client, api_key, 3)
    assert answer.status_code == 403
    assert answer.json()["error"]["type"] == "ScopeMissing"
    with client.portal.registry() as registry:
        assert registry.list() == []


def test_a_submit_key_cannot_read_statuses(client: Site, submit_key: str) -> None:
    answer = client.client.get("/api/v1/subjects/3/status", headers={"x-api-key": submit_key})
    assert answer.status_code == 403


def test_without_a_key_or_with_a_revoked_one_it_is_401(client: Site, submit_key: str) -> None:
    assert client.client.post("/api/v1/subjects/3/requests", json={"kind": "objection"}
                              ).status_code == 401  # fmt: skip
    from notrain.registry.apikeys import revoke_api_key

    with client.portal.registry() as registry:
        revoke_api_key(registry.session, "settings-page", now=registry.now(), actor="test")
    assert _post(client, submit_key, 3).status_code == 401


def test_a_replayed_call_with_the_same_idempotency_key_makes_one_request(
    client: Site, submit_key: str
) -> None:
    first = _post(client, submit_key, 3, **{"idempotency-key": "flip-3-0001"})
    again = _post(client, submit_key, 3, **{"idempotency-key": "flip-3-0001"})
    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json()["request_id"] == again.json()["request_id"]
    assert again.json()["created"] is False
    other = _post(
        client, submit_key, 3, "objection_withdrawal", **{"idempotency-key": "flip-3-0001"}
    )
    assert other.status_code == 422
    assert other.json()["error"]["type"] == "IdempotencyConflict"
    with client.portal.registry() as registry:
        assert len(registry.list()) == 1
    client.deliver()
    assert len(mails_to(client.outbox, BOB)) == 1


def test_concurrent_calls_with_one_idempotency_key_make_one_request(
    client: Site, submit_key: str
) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(
            lambda _: _post(client, submit_key, 1, **{"idempotency-key": "race"}), range(8)
        ))  # fmt: skip
    codes = sorted(a.status_code for a in answers)
    assert (codes.count(201), codes.count(200)) == (1, 7), codes
    assert len({a.json()["request_id"] for a in answers}) == 1
    with client.portal.registry() as registry:
        assert len(registry.list()) == 1


def test_without_an_idempotency_key_each_objection_is_its_own_request(
    client: Site, submit_key: str
) -> None:
    ids = {_post(client, submit_key, 3).json()["request_id"] for _ in range(2)}
    assert len(ids) == 2


def test_access_goes_to_a_person(client: Site, submit_key: str) -> None:
    answer = _post(client, submit_key, 1, "access")
    assert answer.json()["state"] == "needs_review"
    client.deliver()
    assert any("A person will look at it" in m for m in mails_to(client.outbox, ALICE))


@pytest.mark.parametrize(
    ("user_id", "kind", "status"),
    [(99, "objection", 404), (4, "objection", 422), (3, "opinion", 422), (-1, "objection", 422)],
)
def test_what_cannot_be_asked_is_refused_and_nothing_stored(
    client: Site, submit_key: str, user_id: int, kind: str, status: int
) -> None:
    """No such account; Carol has no address to confirm to; no such kind; no such id."""
    assert _post(client, submit_key, user_id, kind).status_code == status
    with client.portal.registry() as registry:
        assert registry.list() == []


def test_the_cli_makes_a_submit_key(tmp_path: Path, database_url: str) -> None:
    env = {**os.environ, "NOTRAIN_DATABASE_URL": database_url}
    made = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "admin", "create-api-key", "settings-page",
         "--scope", "submit"],
        capture_output=True, text=True, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "scope submit" in made.stdout
    assert made.stdout.strip().splitlines()[-1].startswith("ntk_")
    bad = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "admin", "create-api-key", "other",
         "--scope", "everything"],
        capture_output=True, text=True, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode != 0
