"""Attacks on the members' sign-in and one click, each refused with nothing stored.

The ID token checks run against the real provider's discovery document and keys; the
tokens with wrong claims are signed with the provider's own key, so only the claim is
wrong.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from notrain.errors import NotAMember, SignInFailed
from notrain.signin.client import OpenIDClient
from notrain.signin.flow import safe_return_path
from tests.portal.fixtures import Site
from tests.signin.conftest import CALLBACK, callback_url, signed_in, to_provider
from tests.signin.provider import Provider, sign_in

NONCE = "the-nonce-this-sign-in-sent"


def _client(provider: Provider) -> OpenIDClient:
    return OpenIDClient(provider.issuer, provider.client_id, provider.client_secret)


def _claims(provider: Provider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": provider.issuer, "sub": "3", "aud": provider.client_id, "iat": now,
              "exp": now + 300, "nonce": NONCE}  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(key: RSAKey | OctKey, claims: dict[str, Any], alg: str = "RS256") -> dict[str, str]:
    header = {"alg": alg, "kid": "test-key-1"}
    return {"id_token": jwt.encode(header, claims, key, algorithms=[alg])}


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _nothing_stored(site: Site) -> None:
    with site.portal.registry() as registry:
        assert registry.list() == []


def _code_flow(client: OpenIDClient) -> tuple[str, str, str]:
    """A real sign-in at the provider: (code, PKCE verifier, nonce)."""
    started = client.begin(CALLBACK)
    back = sign_in(started.url, "3", stop_at=CALLBACK)
    code = parse_qs(urlsplit(back).query)["code"][0]
    return code, started.code_verifier, started.nonce


# -- the ID token ---------------------------------------------------------------------------


def test_a_token_signed_with_the_providers_key_verifies(provider: Provider) -> None:
    identity = _client(provider).verify(_signed(provider.key, _claims(provider)), NONCE)
    assert (identity.issuer, identity.subject, identity.user_id) == (provider.issuer, "3", 3)


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("wrong issuer", {"iss": "http://127.0.0.1:1"}),
        ("wrong audience", {"aud": "another-client"}),
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("wrong nonce", {"nonce": "a-nonce-of-another-sign-in"}),
        ("no nonce", {"nonce": None}),
        ("no expiry", {"exp": None}),
    ],
)
def test_a_token_with_a_wrong_claim_is_refused(
    provider: Provider, case: str, changes: dict[str, Any]
) -> None:
    token = _signed(provider.key, _claims(provider, **changes))
    with pytest.raises(SignInFailed, match="does not verify"):
        _client(provider).verify(token, NONCE)
    del case


def test_a_forged_token_is_refused(provider: Provider) -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
    with pytest.raises(SignInFailed, match="does not verify"):
        _client(provider).verify(_signed(forger, _claims(provider)), NONCE)


def test_an_unsigned_token_and_alg_none_are_refused(provider: Provider) -> None:
    payload = _b64(_claims(provider))
    for header in ({"alg": "none"}, {"alg": "none", "kid": "test-key-1"}):
        with pytest.raises(SignInFailed, match="does not verify"):
            _client(provider).verify({"id_token": f"{_b64(header)}.{payload}."}, NONCE)
    genuine = _signed(provider.key, _claims(provider))["id_token"]
    stripped = genuine.rsplit(".", 1)[0] + "."
    with pytest.raises(SignInFailed, match="does not verify"):
        _client(provider).verify({"id_token": stripped}, NONCE)


def test_a_token_signed_with_the_client_secret_is_refused(provider: Provider) -> None:
    """HS256 keyed by the secret: not a signature the provider's keys vouch for."""
    secret = OctKey.import_key(provider.client_secret)
    with pytest.raises(SignInFailed, match="does not verify"):
        _client(provider).verify(_signed(secret, _claims(provider), "HS256"), NONCE)


def test_a_real_token_with_another_sign_ins_nonce_is_refused(provider: Provider) -> None:
    client = _client(provider)
    code, verifier, _nonce = _code_flow(client)
    with pytest.raises(SignInFailed, match="does not verify"):
        client.finish(code=code, redirect_uri=CALLBACK, code_verifier=verifier, nonce=NONCE)


def test_a_code_is_used_once(provider: Provider) -> None:
    client = _client(provider)
    code, verifier, nonce = _code_flow(client)
    identity = client.finish(code=code, redirect_uri=CALLBACK, code_verifier=verifier, nonce=nonce)
    assert identity.user_id == 3
    with pytest.raises(SignInFailed, match="refused the code"):
        client.finish(code=code, redirect_uri=CALLBACK, code_verifier=verifier, nonce=nonce)


def test_a_code_without_its_pkce_verifier_is_refused(provider: Provider) -> None:
    client = _client(provider)
    code, _verifier, nonce = _code_flow(client)
    with pytest.raises(SignInFailed, match="refused the code"):
        client.finish(code=code, redirect_uri=CALLBACK, code_verifier="x" * 50, nonce=nonce)


def test_an_answer_from_another_issuer_is_refused(provider: Provider) -> None:
    client = _client(provider)
    code, verifier, nonce = _code_flow(client)
    with pytest.raises(SignInFailed, match="another issuer"):
        client.finish(code=code, redirect_uri=CALLBACK, code_verifier=verifier, nonce=nonce,
                      issuer="http://127.0.0.1:1")  # fmt: skip


@pytest.mark.parametrize("sub", ["alice", "-3", "99999999999999999999", "3.0"])
def test_a_subject_that_is_no_account_id_is_refused(provider: Provider, sub: str) -> None:
    with pytest.raises(NotAMember):
        _client(provider).verify(_signed(provider.key, _claims(provider, sub=sub)), NONCE)


# -- the callback ---------------------------------------------------------------------------


def _cookie(site: Site, name: str) -> str | None:
    value: str | None = site.client.cookies.get(name)
    return value


def test_a_callback_without_state_is_refused(member_site: Site) -> None:
    back = callback_url(member_site, "3")
    without = "&".join(p for p in back.split("?", 1)[1].split("&") if not p.startswith("state="))
    answer = member_site.client.get(f"/members/callback?{without}", follow_redirects=False)
    assert answer.status_code == 401
    assert "nothing was stored" in answer.text
    assert _cookie(member_site, "notrain_member") is None
    _nothing_stored(member_site)


def test_a_replayed_callback_is_refused(member_site: Site) -> None:
    back = callback_url(member_site, "3")
    transaction = _cookie(member_site, "notrain_oidc")
    assert transaction
    first = member_site.client.get(back, follow_redirects=False)
    assert first.status_code == 303
    member_site.client.cookies.clear()
    member_site.client.cookies.set("notrain_oidc", transaction)
    again = member_site.client.get(back, follow_redirects=False)
    assert again.status_code == 401
    assert _cookie(member_site, "notrain_member") is None


def test_a_callback_for_another_browsers_sign_in_is_refused(member_site: Site) -> None:
    """Login CSRF / code injection: the victim's browser gets the attacker's callback."""
    attackers = callback_url(member_site, "3")
    member_site.client.cookies.clear()
    to_provider(member_site)  # the victim's own sign-in in progress: another state
    answer = member_site.client.get(attackers, follow_redirects=False)
    assert answer.status_code == 401
    assert _cookie(member_site, "notrain_member") is None


def test_a_callback_without_any_sign_in_is_refused(member_site: Site) -> None:
    back = callback_url(member_site, "3")
    member_site.client.cookies.clear()
    assert member_site.client.get(back, follow_redirects=False).status_code == 401


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/evil.example",
     "/members\r\nLocation: https://evil.example", "javascript:alert(1)"],
)  # fmt: skip
def test_the_return_address_never_leaves_the_site(member_site: Site, target: str) -> None:
    assert safe_return_path(target) == "/members"
    assert signed_in(member_site, "3", target) == "/members"


def test_a_sub_that_is_no_account_gets_a_clear_page_and_nothing_is_stored(
    member_site: Site,
) -> None:
    answer = member_site.client.get(callback_url(member_site, "99"), follow_redirects=False)
    assert answer.status_code == 403
    assert "names no account we know" in answer.text
    assert _cookie(member_site, "notrain_member") is None
    page = member_site.client.get("/members")
    assert 'action="/members/requests"' not in page.text
    _nothing_stored(member_site)


# -- the one click --------------------------------------------------------------------------


def test_the_one_click_needs_the_forms_token(member_site: Site) -> None:
    signed_in(member_site, "3")
    bare = member_site.client.post("/members/requests", data={"kind": "objection"},
                                   follow_redirects=False)  # fmt: skip
    assert bare.status_code == 403
    cross_site = member_site.post_form(
        "/members", "/members/requests", {"kind": "objection"},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )  # fmt: skip
    assert cross_site.status_code == 403
    _nothing_stored(member_site)


def test_the_one_click_needs_a_sign_in(member_site: Site) -> None:
    answer = member_site.post_form("/request/objection", "/members/requests", {"kind": "objection"})
    assert answer.status_code == 401
    member_site.client.cookies.set("notrain_member", "eyJ1c2VyX2lkIjozfQ.forged")
    answer = member_site.post_form("/request/objection", "/members/requests", {"kind": "objection"})
    assert answer.status_code == 401
    _nothing_stored(member_site)


def test_a_pass_cannot_be_altered_to_another_account(member_site: Site) -> None:
    signed_in(member_site, "3")
    sealed = _cookie(member_site, "notrain_member")
    assert sealed
    body, mac = sealed.split(".")
    value = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    value["user_id"] = 1
    member_site.client.cookies.delete("notrain_member")
    member_site.client.cookies.set("notrain_member", f"{_b64(value)}.{mac}")
    answer = member_site.post_form("/request/objection", "/members/requests", {"kind": "objection"})
    assert answer.status_code == 401
    _nothing_stored(member_site)
