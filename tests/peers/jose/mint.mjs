// Mints signed JWTs with panva/jose, an implementation independent of Lanyard's.
// stdin: a JSON array of {alg, key, header?, claims}; `key` is the HS secret (text) or a PKCS#8
// private key PEM. stdout: a JSON array of compact JWS strings, in the same order.
// The caller sets iat/exp explicitly; nothing here reads the clock.
import { SignJWT, importPKCS8 } from 'jose';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const specs = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const out = [];
for (const s of specs) {
  const key = s.alg.startsWith('HS')
    ? new TextEncoder().encode(s.key)
    : await importPKCS8(s.key, s.alg);
  out.push(
    await new SignJWT(s.claims)
      .setProtectedHeader({ ...(s.header || {}), alg: s.alg })
      .sign(key),
  );
}
process.stdout.write(JSON.stringify(out));
