"""Misusing the platform's API keys: every way in but the right one answers the same 401.

The keys guard ``/api/v1/subjects/...`` (what an account objected to). The basics, a good
key, a key with its last characters changed and a revoked key, are in
``tests/portal/test_api.py``; here: no key and malformed headers, a key where it does not
belong (the query string, a cookie), keys forged from what the registry or its lists show
(the prefix, the stored hash), the answer giving nothing away (a revoked key, a forged one
and no key get the same bytes, whatever account is asked about), the registry keeping no
copy of the key, and a key opening nothing but the pipelines' endpoints. Keys have no
scopes: one key, one kind of access. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from notrain.registry.apikeys import create_api_key, revoke_api_key
from notrain.registry.models import ApiKey, AuditEvent
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE

ONE = "/api/v1/subjects/1/status"
BATCH = "/api/v1/subjects/status"
REFUSED = {
    "error": {
        "type": "AuthenticationFailed",
        "status": 401,
        "message": "a valid API key is required",
        "field": None,
        "retry_after": None,
    }
}


def _ask(site: Site, headers: Any = None, **kw: Any) -> list[Any]:
    """The same question to both endpoints."""
    return [
        site.client.get(ONE, headers=headers, **kw),
        site.client.post(BATCH, json={"user_ids": [1, 2]}, headers=headers, **kw),
    ]


def _refused(answers: list[Any], why: str) -> None:
    for answer in answers:
        assert answer.status_code == 401, (why, answer.status_code, answer.text[:300])
        assert answer.json() == REFUSED, why


def _objected(site: Site) -> None:
    """Alice (accounts 1 and 2) objects, so there is something to find out."""
    receipt = site.client.post(
        "/api/v1/requests", json={"kind": "objection", "email": ALICE, "country": "DE"}
    ).json()
    done = site.client.post(
        f"/api/v1/requests/{receipt['request_id']}/verify", json={"code": site.code(ALICE)}
    )
    assert done.status_code == 200, done.text


def _swap_last(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


def test_no_key_and_malformed_headers_are_refused(client: Site, api_key: str) -> None:
    secret = api_key.encode()
    basic = base64.b64encode(b"ingest:" + secret).decode()
    cases: dict[str, Any] = {
        "no header": None,
        "empty X-API-Key": {"x-api-key": ""},
        "blank X-API-Key": {"x-api-key": "   "},
        "Bearer without a key": {"authorization": "Bearer"},
        "Bearer and spaces": {"authorization": "Bearer    "},
        "no scheme": {"authorization": api_key},
        "Basic scheme": {"authorization": f"Basic {basic}"},
        "Token scheme": {"authorization": f"Token {api_key}"},
        "a scheme in X-API-Key": {"x-api-key": f"Bearer {api_key}"},
        "two keys in one header": {"x-api-key": f"{api_key},{api_key}"},
        "one character short": {"x-api-key": api_key[:-1]},
        "one character more": {"x-api-key": api_key + "A"},
        "upper-cased": {"x-api-key": api_key.upper()},
        "another prefix": {"x-api-key": "ntx_" + api_key[4:]},
        "a character outside the alphabet": {"x-api-key": api_key[:-1] + "="},
        "not UTF-8": [(b"x-api-key", secret[:-1] + b"\xff")],
        "a NUL": [(b"x-api-key", secret[:-1] + b"\x00")],
        "16 KB": {"x-api-key": api_key * 350},
        "SQL": {"x-api-key": "' OR '1'='1"},
        "a wildcard": {"x-api-key": "ntk_%"},
    }
    assert client.client.get(ONE, headers={"x-api-key": api_key}).status_code == 200
    for why, headers in cases.items():
        _refused(_ask(client, headers), why)


def test_a_key_in_the_query_string_or_a_cookie_is_not_accepted(client: Site, api_key: str) -> None:
    """A key in a URL ends up in logs and browser history; cookies are sent by browsers
    to any page that asks. Only the two headers carry a key."""
    for name in ("api_key", "apikey", "key", "x-api-key", "X-API-Key", "token", "access_token"):
        _refused(_ask(client, params={name: api_key}), f"query {name}")
        client.client.cookies.set(name, api_key)
        try:
            _refused(_ask(client), f"cookie {name}")
        finally:
            client.client.cookies.clear()
    for name in ("authorization", "Authorization", "notrain_session"):
        client.client.cookies.set(
            name, api_key if name == "notrain_session" else f"Bearer {api_key}"
        )
        try:
            _refused(_ask(client), f"cookie {name}")
        finally:
            client.client.cookies.clear()
    # The same key in a header is good: what was refused was the place, not the key.
    assert [a.status_code for a in _ask(client, {"x-api-key": api_key})] == [200, 200]


def test_forged_keys_are_refused(client: Site, api_key: str) -> None:
    """What an attacker can learn without the key: its prefix (in lists and audit events),
    its stored hash (from a copy of the database), the format (from the docs)."""
    with client.portal.registry() as registry:
        row = registry.session.scalars(select(ApiKey)).one()
        prefix, stored = row.prefix, row.key_hash
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    rest = len(api_key) - len(prefix)
    forged = {
        "the prefix alone": prefix,
        "the prefix and random characters": prefix + "".join(
            secrets.choice(alphabet) for _ in range(rest)
        ),
        "the prefix and a run of one letter": prefix + "A" * rest,
        "a new key of the right form": "ntk_" + secrets.token_urlsafe(32),
        "the stored hash": stored,
        "the stored hash as a key": "ntk_" + stored[:43],
        "the last character changed": _swap_last(api_key),
        "the first secret character changed": prefix + _swap_last(api_key[: len(prefix) + 1])[-1]
        + api_key[len(prefix) + 1 :],
    }  # fmt: skip
    for why, key in forged.items():
        assert key != api_key, why
        _refused(_ask(client, {"x-api-key": key}), why)
        _refused(_ask(client, {"authorization": f"Bearer {key}"}), why)


def test_a_refusal_says_nothing_about_the_key_or_the_account(client: Site, api_key: str) -> None:
    """No key, a forged key and a revoked key get the same status, body and headers,
    whichever account is asked about: an objector, an account with nothing, no account."""
    _objected(client)

    def answers(headers: dict[str, str] | None) -> set[tuple[int, bytes, tuple[Any, ...]]]:
        seen = set()
        for path in ("/api/v1/subjects/1/status", "/api/v1/subjects/3/status",
                     "/api/v1/subjects/987654321/status"):  # fmt: skip
            answer = client.client.get(path, headers=headers)
            kept = tuple(sorted((k, v) for k, v in answer.headers.items() if k != "date"))
            seen.add((answer.status_code, answer.content, kept))
        for ids in ([1, 2], [3], [987654321]):
            answer = client.client.post(BATCH, json={"user_ids": ids}, headers=headers)
            kept = tuple(sorted((k, v) for k, v in answer.headers.items() if k != "date"))
            seen.add((answer.status_code, answer.content, kept))
        return seen

    known = client.client.get(ONE, headers={"x-api-key": api_key}).json()
    assert known["objected"] is True  # there was something to hide
    missing = answers(None)
    assert len({status for status, _, _ in missing}) == 1
    assert answers({"x-api-key": _swap_last(api_key)}) == missing
    with client.portal.registry() as registry:
        revoke_api_key(registry.session, "ingest", now=registry.now(), actor="test")
    assert answers({"x-api-key": api_key}) == missing
    assert answers({"authorization": f"Bearer {api_key}"}) == missing
    (status, body, _), *_ = missing
    assert status == 401
    assert b"ntk_" not in body
    assert api_key.encode() not in body


def test_revoking_is_final_and_another_key_does_not_revive_it(client: Site, api_key: str) -> None:
    with client.portal.registry() as registry:
        revoke_api_key(registry.session, "ingest", now=registry.now(), actor="test")
        revoke_api_key(registry.session, "ingest", now=registry.now(), actor="test")  # again
        _, second = create_api_key(registry.session, "ingest-2", now=registry.now(), actor="test")
        events = [e.action for e in registry.session.scalars(select(AuditEvent))]
    assert events.count("api_key_revoked") == 1
    _refused(_ask(client, {"x-api-key": api_key}), "the revoked key")
    assert [a.status_code for a in _ask(client, {"x-api-key": second})] == [200, 200]
    _refused(_ask(client, {"x-api-key": api_key}), "the revoked key, after another was made")


def _every_text(session: Session) -> list[str]:
    """Every value of every table, as text."""
    metadata = MetaData()
    metadata.reflect(session.connection())
    values: list[str] = []
    for table in metadata.sorted_tables:
        for row in session.execute(select(table)):
            values.extend(str(v) for v in row if v is not None)
    return values


def test_the_registry_keeps_only_a_hash_of_the_key(client: Site, api_key: str) -> None:
    """A copy of the database does not hold a usable key: only its sha256 (a 256-bit
    random key needs no slow hash) and a 12-character prefix. The lookup is one indexed
    equality on that hash, so timing can tell an attacker about the hash at most, never
    about the key."""
    assert [a.status_code for a in _ask(client, {"x-api-key": api_key})] == [200, 200]
    with client.portal.registry() as registry:
        row = registry.session.scalars(select(ApiKey)).one()
        assert row.key_hash == hashlib.sha256(api_key.encode()).hexdigest()
        assert row.key_hash != api_key
        assert row.prefix == api_key[:12]
        values = _every_text(registry.session)
    secret_part = api_key[12:]
    assert len(secret_part) == 35  # 210 unknown bits even to one who knows the prefix
    leaked = [v for v in values if api_key in v or secret_part in v]
    assert leaked == []


def test_an_api_key_opens_nothing_but_the_pipelines_endpoints(
    signed_in: Site, api_key: str
) -> None:
    """Keys have no scopes: a key reads subjects' decisions and nothing else. It is not an
    officer's session, and an officer's session token is not a key."""
    site = signed_in
    session_token = next(v for k, v in site.client.cookies.items() if k.endswith("session"))
    assert site.client.get("/console").status_code == 200  # the officer is in
    site.client.cookies.clear()
    for path in ("/console", "/console/audit", "/console/reports", "/console/reports.csv"):
        for headers in ({"x-api-key": api_key}, {"authorization": f"Bearer {api_key}"}):
            answer = site.client.get(path, headers=headers, follow_redirects=False)
            assert answer.status_code in (303, 401), (path, answer.status_code)
            assert answer.headers.get("location", "/console/login").startswith("/console/login")
    site.client.cookies.set("notrain_session", api_key)
    answer = site.client.get("/console", follow_redirects=False)
    assert answer.status_code in (303, 401)
    site.client.cookies.clear()
    _refused(_ask(site, {"x-api-key": session_token}), "the officer's session token")
    _refused(_ask(site, {"authorization": f"Bearer {session_token}"}), "the session token")
