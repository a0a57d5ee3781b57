"""The platform's OpenID provider, as the portal's client of it.

Authlib does the protocol: it reads the provider's discovery document, builds the
authorization URL (``state``, ``nonce``, PKCE S256 challenge), exchanges the code for
tokens with the client secret, fetches the provider's signing keys, and validates the ID
token's claims. What is checked, and refused as :class:`~notrain.errors.SignInFailed`:

- the discovery document names the configured issuer (a provider that names another is
  refused), and so does the ``iss`` of the authorization response when it is sent (RFC
  9207: no mix-up with another provider);
- the signature, with a key of the provider's JWKS (re-read once for an unknown key id,
  which is how providers rotate keys), in one of the asymmetric algorithms the provider
  declares: never ``none``, never an HMAC keyed by something the provider publishes;
- ``iss``, ``aud`` (this client), ``exp`` (a minute of leeway for clocks), ``nonce`` (the
  one this sign-in sent), ``azp`` and ``at_hash`` when present.

The account is the claim ``user_claim`` (``sub`` unless configured), which must be an
``accounts.user_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OpenIDMixin
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from notrain.errors import NotAMember, SignInFailed

LEEWAY_SECONDS = 60
_INT64_MAX = 2**63 - 1
# Signatures an ID token may carry: public-key ones only (RFC 8725 3.1).
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
              "ES512", "EdDSA", "Ed25519")  # fmt: skip


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, from a verified ID token."""

    issuer: str
    subject: str
    user_id: int


@dataclass(frozen=True)
class Authorization:
    """Where to send the browser, and what the callback must match."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class _Provider(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's OpenID client without a web framework (the portal keeps the state)."""

    client_cls = OAuth2Client

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(framework=None, **kwargs)


class OpenIDClient:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        user_claim: str = "sub",
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.user_claim = user_claim
        self._provider = _Provider(
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": "openid",
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic",
                "timeout": timeout,
            },
        )

    def _metadata(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = self._provider.load_server_metadata()
        except (AuthlibBaseError, OSError, ValueError) as exc:
            raise SignInFailed(f"the platform's sign-in cannot be reached ({exc})") from None
        if str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
            raise SignInFailed("the provider's discovery document names another issuer")
        return metadata

    def begin(self, redirect_uri: str) -> Authorization:
        """A new sign-in: fresh ``state``, ``nonce`` and PKCE verifier (Authlib draws them)."""
        self._metadata()
        made = self._provider.create_authorization_url(redirect_uri)
        return Authorization(made["url"], made["state"], made["nonce"], made["code_verifier"])

    def finish(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        nonce: str,
        issuer: str | None = None,
    ) -> Identity:
        """Exchange the callback's code and verify the ID token it brings."""
        self._metadata()
        if issuer is not None and issuer.rstrip("/") != self.issuer:
            raise SignInFailed("the answer comes from another issuer")
        try:
            token = self._provider.fetch_access_token(
                redirect_uri, code=code, code_verifier=code_verifier
            )
        except (AuthlibBaseError, OSError, ValueError) as exc:
            raise SignInFailed(f"the provider refused the code ({exc})") from None
        return self.verify(token, nonce)

    def verify(self, token: dict[str, Any], nonce: str) -> Identity:
        """The identity an ID token proves, or :class:`SignInFailed`."""
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("the provider sent no ID token")
        metadata = self._metadata()
        declared = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in declared if a in ASYMMETRIC]
        try:
            try:
                decoded = jwt.decode(id_token, self._keys(), algorithms=algorithms)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, self._keys(refresh=True), algorithms=algorithms)
            params: dict[str, Any] = {"nonce": nonce, "client_id": self.client_id}
            if isinstance(token.get("access_token"), str):
                params["access_token"] = token["access_token"]
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": self.issuer},
                    "aud": {"essential": True, "value": self.client_id},
                    "exp": {"essential": True},
                    "nonce": {"essential": True},
                },
                params,
            )
            claims.validate(leeway=LEEWAY_SECONDS)
        except (JoseError, AuthlibBaseError, ValueError) as exc:
            raise SignInFailed(f"the ID token does not verify ({exc})") from None
        return Identity(self.issuer, str(claims["sub"]), self._user_id(claims))

    def _keys(self, *, refresh: bool = False) -> KeySet:
        try:
            return KeySet.import_key_set(self._provider.fetch_jwk_set(force=refresh))
        except (AuthlibBaseError, OSError, ValueError, RuntimeError) as exc:
            raise SignInFailed(f"the provider's keys cannot be read ({exc})") from None

    def _user_id(self, claims: dict[str, Any]) -> int:
        value = claims.get(self.user_claim)
        if isinstance(value, bool):
            value = None
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or not 0 <= value <= _INT64_MAX:
            raise NotAMember(f"the sign-in's {self.user_claim!r} claim is no account id")
        return value
