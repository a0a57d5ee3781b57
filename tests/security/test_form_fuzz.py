"""A form fuzzer: hypothesis posts random forms to every form of the portal, and none gets
a 5xx (schemathesis does the same for /api/v1 in tests/portal/test_schema.py).

Each post goes to a public form (the five request forms and unknown kinds, code entry and
new code for a real and a made-up request, sign-in) or, signed in, to the console's forms;
with known and random field names; values of any Unicode (control characters included),
raw bytes that are not UTF-8 at all, and huge values; url-encoded or multipart; with this
browser's anti-forgery token, none, or a wrong one. Rate limits are off so every post
reaches its handler. Runs on SQLite and PostgreSQL (where a NUL byte that reaches a query
is an error of its own).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from notrain.portal import create_app
from notrain.settings import Settings
from tests.portal.fixtures import OFFICER, PASSWORD, Site
from tests.registry.fixtures import ALICE, STRANGER, FakeClock

EXAMPLES = int(os.environ.get("NOTRAIN_FORM_FUZZ_EXAMPLES", "60"))
FIELDS = ["email", "country", "handle", "names", "emails", "handles", "note", "code",
          "username", "password", "outcome", "reason", "months", "answer"]  # fmt: skip
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Fuzzed:
    site: Site
    token: str
    request_id: str  # a real request awaiting its code
    review_id: str  # a real request in review (console forms)


@pytest.fixture
def fuzz_app(portal_settings: Settings, clock: FakeClock) -> FastAPI:
    relaxed = portal_settings.model_copy(
        update={"portal_ip_rate_limit": 0, "portal_email_rate_limit": 0,
                "portal_login_rate_limit": 0, "code_hourly_cap": 1000,
                "code_resend_cooldown_seconds": 0, "code_max_attempts": 1000}
    )  # fmt: skip
    return create_app(relaxed, clock=clock, deliver_mail=False)


@pytest.fixture
def fuzzed(fuzz_app: FastAPI, portal_settings: Settings) -> Iterator[Fuzzed]:
    from pathlib import Path

    with TestClient(fuzz_app) as client:
        site = Site(client, Path(portal_settings.outbox_dir))
        with site.portal.registry() as registry:
            registry.create_officer(OFFICER, PASSWORD, actor="test")
        review_id = site.submit(email=STRANGER, country="AT", names="Dana Stranger")
        site.confirm(review_id, STRANGER)
        request_id = site.submit(email=ALICE, country="DE")
        yield Fuzzed(site, site.token("/request/objection"), request_id, review_id)


_special = [ALICE.encode(), b"DE", b"000000", b"accept", b"reject", b"1", b"2", b"\x00",
            b"\xed\xa0\x80", b"\xff\xfe", "\u202e\u0000\ufeff".encode(), b"@alice",
            b"a" * 3000, b"x\n" * 400]  # fmt: skip
_values = st.one_of(
    st.text(max_size=40).map(str.encode),  # any Unicode but lone surrogates, as UTF-8
    st.binary(max_size=40),  # bytes that need not be UTF-8 at all
    st.sampled_from(_special),
    st.integers(min_value=100, max_value=30_000).map(lambda n: b"z" * n),  # huge
)
_fields = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=12)),
    _values,
    max_size=9,
)


def _encode(fields: dict[str, bytes], token: str | None, multipart: bool) -> tuple[bytes, str]:
    items = [(k.encode("utf-8", "surrogatepass"), v) for k, v in fields.items()]
    if token is not None:
        items.append((b"csrf_token", token.encode()))
    if not multipart:
        body = b"&".join(
            quote_from_bytes(k).encode() + b"=" + quote_from_bytes(v).encode() for k, v in items
        )
        return body, "application/x-www-form-urlencoded"
    boundary = secrets.token_hex(12).encode()
    parts = [
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + k.replace(b'"', b"")
        + b'"\r\n\r\n' + v + b"\r\n"
        for k, v in items
    ]  # fmt: skip
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary.decode()}"


def _post(fuzzed: Fuzzed, path: str, fields: dict[str, bytes], csrf: str, multipart: bool) -> Any:
    token = {"ours": fuzzed.token, "none": None, "wrong": "0" * 64}[csrf]
    body, content_type = _encode(fields, token, multipart)
    answer = fuzzed.site.client.post(
        path, content=body, headers={"content-type": content_type}, follow_redirects=False
    )
    assert answer.status_code < 500, (path, fields, answer.status_code, answer.text[:500])
    return answer


_csrf = st.sampled_from(["ours", "ours", "ours", "none", "wrong"])


@FUZZ
@given(
    target=st.sampled_from(["objection", "access", "erasure", "consent",
                            "consent_withdrawal", "objection_withdrawal", "unknown", "code",
                            "code-unknown", "resend", "login"]),
    fields=_fields, csrf=_csrf, multipart=st.booleans(),
)  # fmt: skip
@example(target="login", fields={"username": b"ol\x00ga", "password": b"x" * 12},
         csrf="ours", multipart=False)  # fmt: skip
@example(
    target="objection",
    fields={"email": b"a@example.org", "country": b"DE", "names": b"ab\xed\xa0\x80"},
    csrf="ours",
    multipart=False,
)
def test_public_forms_never_answer_5xx(
    fuzzed: Fuzzed, target: str, fields: dict[str, bytes], csrf: str, multipart: bool
) -> None:
    paths = {
        "code": f"/requests/{fuzzed.request_id}/code",
        "code-unknown": "/requests/req-0123456789abcdef/code",
        "resend": f"/requests/{fuzzed.request_id}/resend",
        "login": "/console/login",
        "unknown": "/request/nonsense",
    }
    _post(fuzzed, paths.get(target, f"/request/{target}"), fields, csrf, multipart)


@FUZZ
@given(
    action=st.sampled_from(["decide", "extend", "apply"]),
    fields=_fields, csrf=_csrf, multipart=st.booleans(),
)  # fmt: skip
@example(action="decide", fields={"outcome": b"reject", "reason": b"no\x00"}, csrf="ours",
         multipart=False)  # fmt: skip
@example(action="extend", fields={"months": b"1", "reason": b"\x00"}, csrf="ours",
         multipart=False)  # fmt: skip
def test_console_forms_never_answer_5xx(
    fuzzed: Fuzzed, action: str, fields: dict[str, bytes], csrf: str, multipart: bool
) -> None:
    if fuzzed.site.client.cookies.get("notrain_session") is None:
        assert fuzzed.site.sign_in().status_code == 303
        fuzzed.token = fuzzed.site.token("/console")  # sign-in gave a new anti-forgery token
    _post(fuzzed, f"/console/requests/{fuzzed.review_id}/{action}", fields, csrf, multipart)


@FUZZ
@given(language=st.text(max_size=20), target=st.text(max_size=200))
def test_the_language_switch_never_answers_5xx_nor_leaves_the_site(
    fuzzed: Fuzzed, language: str, target: str
) -> None:
    answer = fuzzed.site.client.get(
        "/lang/" + quote_from_bytes(language.encode(), safe=""),
        params={"next": target},
        follow_redirects=False,
    )
    assert answer.status_code in (303, 307, 404), answer.text[:300]
    if answer.status_code == 307:  # "/lang/en/": the same path without its slash
        assert answer.headers["location"].startswith("http://testserver/lang/")
    if answer.status_code == 303:
        location = answer.headers["location"]
        assert location.startswith("/")
        assert not location.startswith("//")
        assert "\\" not in location
