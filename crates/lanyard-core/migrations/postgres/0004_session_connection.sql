-- Which connection opened a session (NULL for local passwords), so that logout can also end the
-- session at that identity provider (OIDC RP-initiated logout). No foreign key: deleting a
-- connection must not delete sessions; they end by revocation or expiry.
ALTER TABLE sessions ADD COLUMN connection_id TEXT;
