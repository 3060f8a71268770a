-- JWT remote login and OpenID Connect (PostgreSQL): connections may be of kind `oidc` and `jwt`.
-- Column-for-column identical to ../sqlite/0003_remote_login.sql.

ALTER TABLE connections DROP CONSTRAINT connections_kind_check;
ALTER TABLE connections ADD CONSTRAINT connections_kind_check CHECK (kind IN ('saml', 'oidc', 'jwt'));

-- An OIDC login started at /t/{tenant}/sso/{connection}/start: the row's id is the `state`; the
-- nonce and the PKCE code verifier are sealed with the master key (bound to the state).
ALTER TABLE pending_logins ADD COLUMN oidc_nonce TEXT;
ALTER TABLE pending_logins ADD COLUMN oidc_code_verifier TEXT;
