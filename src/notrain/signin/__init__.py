"""Members sign in with the platform's OpenID provider, so they can object in one click.

The portal runs the authorization-code flow with PKCE, ``state`` and ``nonce``; Authlib
does the protocol (authorization URL, code exchange, ID token claims) and joserfc the
signatures, against the keys the provider publishes. This package knows the protocol and
the signed values the browser carries between the steps; it knows neither the web
framework nor the registry.

- :mod:`.client`: the provider, and the identity a verified ID token proves.
- :mod:`.seal`: values signed with the portal's secret key (for cookies).
- :mod:`.flow`: a sign-in in progress, a signed-in member's pass, spent states, and the
  return address a sign-in may go back to.
"""

from notrain.signin.client import Identity, OpenIDClient

__all__ = ["Identity", "OpenIDClient"]
