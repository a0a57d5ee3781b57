// The OpenID provider of the sign-in tests: panva's oidc-provider (OpenID Certified), on
// loopback only, with its development sign-in pages (any login and password sign in; the
// login typed is the account's `sub`). Started by tests/signin/provider.py with:
//   PROVIDER_PORT         the port to listen on (127.0.0.1)
//   PROVIDER_CLIENT       JSON: {client_id, client_secret, redirect_uris}
//   PROVIDER_JWKS         JSON: the private signing keys {keys: [...]}, so a test can also
//                         sign a token with the provider's own key and wrong claims
//   PROVIDER_PLATFORM_IDS JSON: login -> the `platform_id` claim (a configurable claim)
// It prints "ready <issuer>" once it listens.
import Provider from 'oidc-provider';

const port = Number(process.env.PROVIDER_PORT);
const issuer = `http://127.0.0.1:${port}`;
const client = JSON.parse(process.env.PROVIDER_CLIENT);
const jwks = JSON.parse(process.env.PROVIDER_JWKS);
const platformIds = JSON.parse(process.env.PROVIDER_PLATFORM_IDS || '{}');

const provider = new Provider(issuer, {
  clients: [{
    ...client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks,
  cookies: { keys: ['notrain-test-provider-cookie-key'] },
  pkce: { required: () => true },
  // The platform is the first party: its own members are not asked to consent again.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid');
    await grant.save();
    return grant;
  },
  claims: { openid: ['sub', 'platform_id'] },
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, platform_id: platformIds[id] ?? null };
      },
    };
  },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
