// A relying party built on panva/openid-client v6, driven by Lanyard's OpenID provider interop
// test (crates/lanyard/tests/it/op_interop.rs). The library does the protocol work: discovery,
// PKCE S256 + state + nonce, the authorization response checks (state, RFC 9207 `iss`), the code
// exchange with ID-token validation (signature against the JWKS, iss, aud, exp, nonce), UserInfo
// (sub must match), refresh, revocation (RFC 7009), introspection (RFC 7662) and the RP-initiated
// logout URL.
//
// Protocol: one JSON command per line on stdin, one JSON answer per line on stdout:
//   {"cmd":"init","issuer":URL,"client_id":ID,"client_secret":S|null,"auth":"basic"|"post"|"none",
//    "id_token_alg":"RS256"|"ES256"}
//   {"cmd":"register","issuer":URL,"metadata":{...},"initial_access_token":T} → {client}
//   {"cmd":"authorize","redirect_uri":URI,"scope":"openid ...","params":{...}}  → {url,state,nonce}
//   {"cmd":"callback","url":URL}           → {id_token,access_token,refresh_token,claims,...}
//   {"cmd":"userinfo","access_token":T,"sub":S} → {claims}
//   {"cmd":"refresh","refresh_token":T}    → {access_token,refresh_token,id_token,claims}
//   {"cmd":"revoke","token":T,"hint":H}    → {}
//   {"cmd":"introspect","token":T,"hint":H} → {body}
//   {"cmd":"logout_url","id_token_hint":T,"post_logout_redirect_uri":U,"state":S} → {url}
// Every answer has "ok"; a failure is {"ok":false,"error":<OAuth error or library code>,
// "description":..., "kind":<error class>}.
import * as client from 'openid-client';
import { createInterface } from 'node:readline';

let config;
let pending; // { state, nonce, verifier, redirect_uri }

function auth(kind, secret) {
  switch (kind) {
    case 'basic': return client.ClientSecretBasic(secret);
    case 'post': return client.ClientSecretPost(secret);
    case 'none': return client.None();
    default: throw new Error(`unknown auth method ${kind}`);
  }
}

function tokenAnswer(tokens) {
  const claims = tokens.id_token ? tokens.claims() : undefined;
  return {
    id_token: tokens.id_token ?? null,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token ?? null,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in ?? null,
    scope: tokens.scope ?? null,
    claims: claims ?? null,
  };
}

const handlers = {
  async init(c) {
    config = await client.discovery(
      new URL(c.issuer),
      c.client_id,
      {
        ...(c.client_secret ? { client_secret: c.client_secret } : {}),
        // The app's registered ID-token algorithm (the library refuses any other).
        ...(c.id_token_alg ? { id_token_signed_response_alg: c.id_token_alg } : {}),
      },
      auth(c.auth, c.client_secret),
      // The test runs over plain HTTP on loopback; everything else stays at the defaults.
      { execute: [client.allowInsecureRequests] },
    );
    const m = config.serverMetadata();
    return { issuer: m.issuer, metadata: m };
  },
  // RFC 7591 through the library: discovery, then POST registration_endpoint with the
  // initial access token; the configuration then uses the issued secret (client_secret_post).
  async register(c) {
    config = await client.dynamicClientRegistration(new URL(c.issuer), c.metadata, undefined, {
      initialAccessToken: c.initial_access_token,
      execute: [client.allowInsecureRequests],
    });
    return { client: config.clientMetadata() };
  },
  async authorize(c) {
    const verifier = client.randomPKCECodeVerifier();
    const challenge = await client.calculatePKCECodeChallenge(verifier);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: c.redirect_uri,
      scope: c.scope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(c.params ?? {}),
    });
    pending = { state, nonce, verifier, redirect_uri: c.redirect_uri };
    return { url: url.href, state, nonce };
  },
  async callback(c) {
    const tokens = await client.authorizationCodeGrant(config, new URL(c.url), {
      pkceCodeVerifier: c.code_verifier ?? pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    return tokenAnswer(tokens);
  },
  async userinfo(c) {
    const claims = await client.fetchUserInfo(config, c.access_token, c.sub);
    return { claims };
  },
  async refresh(c) {
    const tokens = await client.refreshTokenGrant(config, c.refresh_token);
    return tokenAnswer(tokens);
  },
  async revoke(c) {
    await client.tokenRevocation(config, c.token, c.hint ? { token_type_hint: c.hint } : undefined);
    return {};
  },
  async introspect(c) {
    const body = await client.tokenIntrospection(config, c.token, c.hint ? { token_type_hint: c.hint } : undefined);
    return { body };
  },
  async logout_url(c) {
    const params = {};
    for (const k of ['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id']) {
      if (c[k]) params[k] = c[k];
    }
    return { url: client.buildEndSessionUrl(config, params).href };
  },
};

function failure(err) {
  return {
    ok: false,
    kind: err?.constructor?.name ?? 'Error',
    error: err?.error ?? err?.code ?? 'exception',
    description: err?.error_description ?? err?.message ?? String(err),
    status: err?.status ?? null,
    cause: err?.cause?.message ?? (typeof err?.cause === 'object' ? JSON.stringify(err.cause) : null),
  };
}

const rl = createInterface({ input: process.stdin, terminal: false });
for await (const line of rl) {
  if (!line.trim()) continue;
  let answer;
  try {
    const c = JSON.parse(line);
    const h = handlers[c.cmd];
    if (!h) throw new Error(`unknown command ${c.cmd}`);
    answer = { ok: true, ...(await h(c)) };
  } catch (err) {
    answer = failure(err);
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
