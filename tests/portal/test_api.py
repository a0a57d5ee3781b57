"""The JSON API: submit, verify, status, the pipelines' subject status, one error shape."""

from __future__ import annotations

from typing import Any

import pytest

from notrain.registry.apikeys import revoke_api_key
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, BOB, STRANGER

ERROR_KEYS = {"type", "status", "message", "field", "retry_after"}


def _submit(client: Site, **body: Any) -> dict[str, Any]:
    answer = client.client.post("/api/v1/requests", json=body)
    assert answer.status_code == 202, answer.text
    data: dict[str, Any] = answer.json()
    return data


def _verified(client: Site, email: str, **body: Any) -> str:
    receipt = _submit(client, kind="objection", email=email, country="DE", **body)
    answer = client.client.post(
        f"/api/v1/requests/{receipt['request_id']}/verify", json={"code": client.code(email)}
    )
    assert answer.status_code == 200, answer.text
    return str(receipt["request_id"])


def test_submit_verify_status(client: Site) -> None:
    receipt = _submit(client, kind="objection", email=ALICE, country="DE")
    assert receipt["status_url"] == f"/requests/{receipt['request_id']}"
    stranger = _submit(client, kind="objection", email=STRANGER, country="DE")
    assert receipt["message"] == stranger["message"]  # no enumeration of accounts
    outcome = client.client.post(
        f"/api/v1/requests/{receipt['request_id']}/verify", json={"code": client.code(ALICE)}
    ).json()
    assert outcome["state"] == "accepted"
    path = f"/api/v1/requests/{receipt['request_id']}"
    bearer = {"authorization": f"Bearer {outcome['status_token']}"}
    status = client.client.get(path, headers=bearer)
    assert status.json()["stage"] == "answered"
    assert status.headers["cache-control"] == "no-store"
    assert status.json()["status_url"] == outcome["status_url"]
    in_link = outcome["status_url"].replace("/requests", "/api/v1/requests")
    assert client.client.get(in_link).json() == status.json()


def _assert_error(answer: Any, status: int, kind: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR_KEYS
    assert body["error"]["status"] == status
    assert body["error"]["type"] == kind
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.usefixtures("api_key")
def test_every_error_has_one_shape(client: Site) -> None:
    c = client.client
    missing = "/api/v1/requests/req-0000000000000000"
    _assert_error(c.get(missing), 404, "RequestNotFound")
    _assert_error(c.get("/api/v1/requests/anything%00else"), 404, "RequestNotFound")
    _assert_error(c.get("/api/v1/nothing-here"), 404, "NotFound")
    _assert_error(c.delete("/api/v1/policy"), 405, "MethodNotAllowed")
    bad = _assert_error(
        c.post("/api/v1/requests", json={"kind": "objection", "email": "x", "country": "FR"}),
        422,
        "RequestInvalid",
    )
    assert bad["field"] == "email"
    schema = _assert_error(c.post("/api/v1/requests", json={"kind": "nope"}), 422, "RequestInvalid")
    assert schema["field"]
    _assert_error(
        c.post(
            "/api/v1/requests", content=b"kind=objection", headers={"content-type": "text/plain"}
        ),
        422,
        "RequestInvalid",
    )
    receipt = _submit(client, kind="objection", email=BOB, country="FR")
    client.deliver()
    wrong = c.post(f"/api/v1/requests/{receipt['request_id']}/verify", json={"code": "12"})
    assert _assert_error(wrong, 400, "CodeWrong")["message"].startswith("wrong code")
    limited = c.post(f"/api/v1/requests/{receipt['request_id']}/resend")
    assert _assert_error(limited, 429, "RateLimited")["retry_after"] >= 1
    assert limited.headers["retry-after"]
    _assert_error(c.get("/api/v1/subjects/1/status"), 401, "AuthenticationFailed")
    _assert_error(c.post("/api/v1/requests", content=b"x" * 70_000), 413, "BodyTooLarge")
    # Pages asked for as JSON answer in the same shape.
    _assert_error(c.get("/requests/req-0000000000000000?format=json"), 404, "RequestNotFound")
    _assert_error(c.get("/nowhere", headers={"accept": "application/json"}), 404, "NotFound")


def test_state_errors_are_409(client: Site) -> None:
    request_id = _verified(client, ALICE)
    again = client.client.post(f"/api/v1/requests/{request_id}/verify", json={"code": "000000"})
    _assert_error(again, 409, "RequestStateError")


def test_subject_status_for_the_platforms_pipelines(client: Site, api_key: str) -> None:
    _verified(client, ALICE)  # a member with accounts 1 and 2
    pending = _verified(client, BOB, handle="carol")  # a handle not his: to review
    headers = {"authorization": f"Bearer {api_key}"}
    alice = client.client.get("/api/v1/subjects/2/status", headers=headers).json()
    assert alice["objected"] is True
    assert alice["erased"] is False
    assert [d["kind"] for d in alice["decisions"]] == ["objection"]
    batch = client.client.post(
        "/api/v1/subjects/status", json={"user_ids": [3, 1, 99]}, headers={"x-api-key": api_key}
    ).json()
    assert [s["user_id"] for s in batch["subjects"]] == [3, 1, 99]
    bob, first, nobody = batch["subjects"]
    assert bob["objected"] is False
    assert [p["request_id"] for p in bob["pending"]] == [pending]
    assert first["objected"] is True
    assert nobody == {"user_id": 99, "objected": False, "erased": False, "consented": False,
                      "decisions": [], "pending": []}  # fmt: skip


def test_api_keys_are_checked_and_revocable(client: Site, api_key: str) -> None:
    url = "/api/v1/subjects/1/status"
    assert client.client.get(url, headers={"x-api-key": api_key}).status_code == 200
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    _assert_error(client.client.get(url, headers={"x-api-key": forged}), 401,
                  "AuthenticationFailed")  # fmt: skip
    with client.portal.registry() as registry:
        revoke_api_key(registry.session, "ingest", now=registry.now(), actor="test")
    _assert_error(client.client.get(url, headers={"x-api-key": api_key}), 401,
                  "AuthenticationFailed")  # fmt: skip


@pytest.mark.parametrize("user_id", ["-1", "9223372036854775808", "abc"])
def test_subject_ids_out_of_range_are_refused(client: Site, api_key: str, user_id: str) -> None:
    answer = client.client.get(f"/api/v1/subjects/{user_id}/status", headers={"x-api-key": api_key})
    _assert_error(answer, 422, "RequestInvalid")


def test_openapi_describes_the_api(client: Site) -> None:
    schema = client.client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert {"/api/v1/requests", "/api/v1/requests/{request_id}/verify",
            "/api/v1/requests/{request_id}", "/api/v1/subjects/{user_id}/status",
            "/api/v1/subjects/status", "/healthz"} <= set(paths)  # fmt: skip
    assert not any(p.startswith("/console") for p in paths)
    assert "ErrorResponse" in schema["components"]["schemas"]
