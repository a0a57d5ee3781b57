"""Edges of the portal issue's rules: error shape, language weights, metrics, batch status."""

from __future__ import annotations

from typing import Any

import pytest

from notrain.portal import i18n
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, BOB

ERROR_KEYS = {"type", "status", "message", "field", "retry_after"}


def _error(answer: Any, status: int, kind: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR_KEYS
    assert (body["error"]["status"], body["error"]["type"]) == (status, kind)
    error: dict[str, Any] = body["error"]
    return error


def test_malformed_and_misshapen_bodies_answer_in_the_one_shape(client: Site) -> None:
    c = client.client
    broken = c.post(
        "/api/v1/requests",
        content=b'{"kind": "objection",',
        headers={"content-type": "application/json"},
    )
    error = _error(broken, 422, "RequestInvalid")
    assert error["field"] is None  # the offset of the fault is not a field
    assert "JSON" in error["message"]
    _error(c.post("/api/v1/requests", json=["objection"]), 422, "RequestInvalid")
    _error(c.put("/api/v1/requests"), 405, "MethodNotAllowed")
    _error(c.options("/api/v1/requests"), 405, "MethodNotAllowed")
    _error(c.get("/api/v1"), 404, "NotFound")
    _error(c.get("/api/v1/requests/not-an-id"), 404, "RequestNotFound")
    unknown_verify = c.post("/api/v1/requests/req-0000000000000000/verify", json={"code": "123456"})
    _error(unknown_verify, 404, "RequestNotFound")


def test_a_reason_is_never_asked_of_the_requester(client: Site) -> None:
    # Neither the API's schema nor the form has a reason; the note is optional.
    schema = client.client.get("/api/v1/openapi.json").json()
    request_in = schema["components"]["schemas"]["RequestIn"]
    assert "reason" not in request_in["properties"]
    assert set(request_in["required"]) == {"kind", "email", "country"}
    form = client.client.get("/request/objection").text
    assert 'name="reason"' not in form
    assert 'name="note"' in form


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr;level=1;q=0.5, en;q=0.7", "en"),  # q after another parameter
        ("fr;Q=0.1, en;q=0.5", "en"),  # parameter names are case-insensitive
        ("fr ; q = 0.9 , en;q=0.95", "en"),  # spaces around the weight
        ("fr;q=abc, en;q=0.1", "en"),  # a malformed weight counts as zero
        ("fr;q=2, en;q=0.1", "en"),  # weights run from 0 to 1
        ("en;q=0.8, fr;q=0.8", "en"),  # equal weights: the first listed
        ("ja-JP, ja;q=0.9, fr;q=0.2, en;q=0.1", "fr"),
        ("FR-be", "fr"),
    ],
)
def test_accept_language_weights(header: str, language: str) -> None:
    assert i18n.accept_language(header) == language


@pytest.mark.parametrize("header", ["ja, zh;q=0.5", "*", "fr;q=0, en;q=0", ""])
def test_unknown_or_refused_languages_fall_back_to_english(client: Site, header: str) -> None:
    assert i18n.accept_language(header) is None
    page = client.client.get("/", headers={"accept-language": header})
    assert '<html lang="en">' in page.text


def test_an_unknown_switcher_language_or_cookie_changes_nothing(client: Site) -> None:
    unknown = client.client.get("/lang/ja", headers={"accept": "application/json"})
    assert unknown.status_code == 404
    assert "notrain_lang" not in unknown.headers.get("set-cookie", "")
    client.client.cookies.set("notrain_lang", "ja")
    page = client.client.get("/", headers={"accept-language": "fr"})
    assert '<html lang="fr">' in page.text  # an unknown cookie yields to the header


def test_metrics_name_each_route_by_its_full_template(client: Site, signed_in: Site) -> None:
    del signed_in  # the console is reached signed in
    c = client.client
    c.get("/api/v1/requests/req-0000000000000000")
    c.get("/requests/req-0000000000000001")
    c.get("/console/requests/req-0000000000000002")
    text = c.get("/metrics").text
    assert 'route="/api/v1/requests/{request_id}",status="404"' in text
    assert 'route="/requests/{request_id}",status="404"' in text
    assert 'route="/console/requests/{request_id}",status="404"' in text
    assert "req-000000000000000" not in text


def test_metrics_are_prometheus_text(client: Site) -> None:
    answer = client.client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=")
    lines = answer.text.splitlines()
    assert "# TYPE notrain_http_requests_total counter" in lines
    assert any(line.startswith("# HELP notrain_requests_submitted_total ") for line in lines)


def test_batch_status_answers_each_id_asked_in_the_order_asked(client: Site, api_key: str) -> None:
    receipt = client.client.post(
        "/api/v1/requests", json={"kind": "objection", "email": ALICE, "country": "DE"}
    ).json()
    verified = client.client.post(
        f"/api/v1/requests/{receipt['request_id']}/verify", json={"code": client.code(ALICE)}
    )
    assert verified.json()["state"] == "accepted"
    batch = client.client.post(
        "/api/v1/subjects/status", json={"user_ids": [2, 3, 2, 1]}, headers={"x-api-key": api_key}
    )
    assert batch.status_code == 200, batch.text
    subjects = batch.json()["subjects"]
    assert [s["user_id"] for s in subjects] == [2, 3, 2, 1]
    assert [s["objected"] for s in subjects] == [True, False, True, True]
    single = client.client.get("/api/v1/subjects/2/status", headers={"x-api-key": api_key}).json()
    assert subjects[0] == single


def test_batch_status_refuses_empty_and_oversized_batches(client: Site, api_key: str) -> None:
    headers = {"x-api-key": api_key}
    url = "/api/v1/subjects/status"
    _error(client.client.post(url, json={"user_ids": []}, headers=headers), 422, "RequestInvalid")
    many = list(range(1001))
    _error(client.client.post(url, json={"user_ids": many}, headers=headers), 422, "RequestInvalid")
    _error(client.client.post(url, json={"user_ids": [1]}), 401, "AuthenticationFailed")


def test_an_address_in_other_case_and_spacing_is_the_same_request(client: Site) -> None:
    first = client.client.post(
        "/api/v1/requests", json={"kind": "access", "email": BOB, "country": "FR"}
    ).json()
    verify = f"/api/v1/requests/{first['request_id']}/verify"
    opened = client.client.post(verify, json={"code": client.code(BOB)}).json()
    assert opened["state"] == "needs_review"
    client.portal.clock.advance(minutes=5)  # type: ignore[attr-defined]  # past the cooldown
    again = client.client.post(
        "/api/v1/requests",
        json={"kind": "access", "email": f"  {BOB.upper()} ", "country": "fr"},
    )
    assert again.status_code == 202
    assert again.json()["request_id"] != first["request_id"]  # nothing told before the code
    verify = f"/api/v1/requests/{again.json()['request_id']}/verify"
    merged = client.client.post(verify, json={"code": client.code(BOB)}).json()
    assert merged["request_id"] == first["request_id"]  # merged when the code proves it
    assert merged["status_token"] == opened["status_token"]
