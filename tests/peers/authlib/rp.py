"""A relying party built on Authlib (requests client), driven by Lanyard's OpenID provider interop
test (crates/lanyard/tests/it/op_interop.rs). Authlib does the protocol work: discovery
(server_metadata_url), PKCE S256 + state + nonce, the code exchange, ID-token validation
(signature against the JWKS, iss, aud, exp, nonce, at_hash) through its OpenIDMixin, UserInfo,
refresh, revocation (RFC 7009), introspection (RFC 7662) and the RP-initiated logout URL. Authlib
does not check RFC 9207 `iss` in the authorization response; this driver does, before the
exchange, as its documentation tells applications to.

Protocol (the same as tests/peers/openid-client/rp.mjs): one JSON command per line on stdin, one
JSON answer per line on stdout; see that file for the commands.
"""

import json
import sys
import warnings
from urllib.parse import parse_qs, urlparse

warnings.simplefilter("ignore")  # authlib.jose deprecation notices would go to stderr only

from authlib.integrations.base_client import FrameworkIntegration  # noqa: E402
from authlib.integrations.base_client.sync_app import BaseApp, OAuth2Mixin  # noqa: E402
from authlib.integrations.base_client.sync_openid import OpenIDMixin  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oauth2.rfc6749.errors import OAuth2Error  # noqa: E402
from authlib.integrations.base_client.errors import OAuthError  # noqa: E402


class Integration(FrameworkIntegration):
    """No web framework: the driver's caller keeps the tokens, so updates are not stored."""

    def update_token(self, token, refresh_token=None, access_token=None):
        pass


class RelyingParty(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's framework-free OAuth 2.0 + OpenID Connect app on its requests session."""

    client_cls = OAuth2Session


class Driver:
    def __init__(self):
        self.app = None
        self.pending = None

    def init(self, c):
        method = {"basic": "client_secret_basic", "post": "client_secret_post", "none": "none"}[
            c["auth"]
        ]
        self.app = RelyingParty(
            Integration("lanyard"),
            name="lanyard",
            client_id=c["client_id"],
            client_secret=c.get("client_secret"),
            server_metadata_url=c["issuer"].rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": method,
                "revocation_endpoint_auth_method": method,
            },
        )
        m = self.app.load_server_metadata()
        if c.get("id_token_alg"):
            # The app's registered ID-token algorithm (Authlib accepts only these).
            m["id_token_signing_alg_values_supported"] = [c["id_token_alg"]]
        if m.get("issuer") != c["issuer"]:
            raise ValueError(f"discovery issuer {m.get('issuer')} is not {c['issuer']}")
        return {"issuer": m["issuer"], "metadata": {k: v for k, v in m.items() if k != "_loaded_at"}}

    def authorize(self, c):
        rv = self.app.create_authorization_url(
            redirect_uri=c["redirect_uri"], scope=c["scope"], **c.get("params", {})
        )
        self.pending = dict(rv, redirect_uri=c["redirect_uri"])
        return {"url": rv["url"], "state": rv["state"], "nonce": rv["nonce"]}

    def callback(self, c):
        q = {k: v[0] for k, v in parse_qs(urlparse(c["url"]).query).items()}
        if "error" in q:
            return {"ok": False, "error": q["error"], "description": q.get("error_description"),
                    "kind": "AuthorizationResponseError"}
        if q.get("state") != self.pending["state"]:
            raise ValueError("state mismatch")
        issuer = self.app.load_server_metadata()["issuer"]
        if q.get("iss") != issuer:
            raise ValueError(f"iss {q.get('iss')!r} in the authorization response is not {issuer}")
        token = self.app.fetch_access_token(
            redirect_uri=self.pending["redirect_uri"],
            code=q["code"],
            code_verifier=c.get("code_verifier") or self.pending["code_verifier"],
        )
        claims = self.app.parse_id_token(token, nonce=self.pending["nonce"], leeway=0)
        if claims is None:
            raise ValueError("no id_token in the token response")
        return token_answer(token, dict(claims))

    def _session(self, token=None):
        m = self.app.load_server_metadata()
        return self.app._get_oauth_client(**m) if token is None else self.app._get_oauth_client(
            token=token, **m
        )

    def userinfo(self, c):
        info = self.app.userinfo(token={"access_token": c["access_token"], "token_type": "Bearer"})
        if info.get("sub") != c["sub"]:
            raise ValueError("UserInfo sub differs from the ID token's")
        return {"claims": dict(info)}

    def refresh(self, c):
        m = self.app.load_server_metadata()
        with self._session() as s:
            token = s.refresh_token(m["token_endpoint"], refresh_token=c["refresh_token"])
        claims = None
        if token.get("id_token"):
            claims = dict(self.app.parse_id_token(token, nonce=None, leeway=0) or {})
        return token_answer(token, claims)

    def revoke(self, c):
        m = self.app.load_server_metadata()
        with self._session() as s:
            r = s.revoke_token(m["revocation_endpoint"], c["token"], token_type_hint=c.get("hint"))
        if r.status_code != 200:
            return error_body(r)
        return {}

    def introspect(self, c):
        m = self.app.load_server_metadata()
        with self._session() as s:
            r = s.introspect_token(
                m["introspection_endpoint"], c["token"], token_type_hint=c.get("hint")
            )
        if r.status_code != 200:
            return error_body(r)
        return {"body": r.json()}

    def logout_url(self, c):
        kwargs = {"client_id": c["client_id"]} if c.get("client_id") else {}
        rv = self.app.create_logout_url(
            post_logout_redirect_uri=c.get("post_logout_redirect_uri"),
            id_token_hint=c.get("id_token_hint"),
            state=c.get("state"),
            **kwargs,
        )
        return {"url": rv["url"]}


def token_answer(token, claims):
    return {
        "id_token": token.get("id_token"),
        "access_token": token.get("access_token"),
        "refresh_token": token.get("refresh_token"),
        "token_type": token.get("token_type"),
        "expires_in": token.get("expires_in"),
        "scope": token.get("scope"),
        "claims": claims,
    }


def error_body(r):
    try:
        b = r.json()
    except ValueError:
        b = {}
    return {"ok": False, "error": b.get("error", f"http_{r.status_code}"),
            "description": b.get("error_description"), "status": r.status_code,
            "kind": "ResponseBodyError"}


def failure(e):
    if isinstance(e, (OAuth2Error, OAuthError)):
        return {"ok": False, "kind": type(e).__name__, "error": e.error,
                "description": getattr(e, "description", None)}
    return {"ok": False, "kind": type(e).__name__, "error": "exception", "description": str(e)}


def main():
    d = Driver()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            c = json.loads(line)
            out = getattr(d, c["cmd"])(c)
            answer = out if out.get("ok") is False else dict(ok=True, **out)
        except Exception as e:  # every failure is an answer, never a crash
            answer = failure(e)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
