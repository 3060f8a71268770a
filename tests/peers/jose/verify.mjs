// Verifies a signed JWT with panva/jose, an implementation independent of Lanyard's: the
// back-channel logout receiver of the OpenID provider interop test
// (crates/lanyard/tests/it/op_interop.rs) checks each logout token this way.
// stdin: {"token", "jwks_uri", "issuer", "audience", "typ"}; the keys are fetched from jwks_uri
// (the provider's published JWKS), the algorithm must be one the key allows, iss/aud must match,
// the header's typ must equal `typ` when given. stdout: {"ok":true,"header","payload"} or
// {"ok":false,"code","message"}.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
try {
  const jwks = createRemoteJWKSet(new URL(req.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(req.token, jwks, {
    issuer: req.issuer,
    audience: req.audience,
    ...(req.typ ? { typ: req.typ } : {}),
    algorithms: ['RS256', 'ES256'],
  });
  process.stdout.write(JSON.stringify({ ok: true, header: protectedHeader, payload }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, code: err.code ?? 'exception', message: err.message }));
}
