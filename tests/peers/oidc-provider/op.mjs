// Starts panva/oidc-provider (a certified OpenID Provider) on loopback for Lanyard's interop test.
//   node op.mjs --port P --client-id ID --client-secret S --redirect-uri URI --key KID=PEM [--key ...]
// Keys are PKCS#8 PEM files; the first --key signs (rotation = restart with the new key first).
// Users: any login name, any password (the built-in dev interactions); claims are derived from
// the login name. Prints "listening <issuer>" when ready.
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const keys = [];
args.forEach((a, i) => {
  if (a !== '--key') return;
  const [kid, path] = args[i + 1].split('=');
  const jwk = createPrivateKey(readFileSync(path)).export({ format: 'jwk' });
  keys.push({ ...jwk, kid, use: 'sig', alg: jwk.kty === 'EC' ? 'ES256' : 'RS256' });
});
const port = Number(opt('port'));
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: opt('client-id'),
    client_secret: opt('client-secret'),
    redirect_uris: [opt('redirect-uri')],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: opt('auth-method') || 'client_secret_basic',
    id_token_signed_response_alg: keys[0].alg,
  }],
  jwks: { keys },
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@op.test`, email_verified: true, name: `User ${id}`, preferred_username: id };
      },
    };
  },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
