-- The device authorization grant (RFC 8628, issue 11). Kept column-for-column identical to
-- ../sqlite/0009_device.sql.

-- One device authorization: the device code and the user code are kept only as SHA-256.
-- status: pending, approved, denied, consumed. user_id is set by the person's decision;
-- api_token_id when the approved grant was consumed (the lyt_ token issued to the device).
-- last_polled_at enforces the polling interval (slow_down).
CREATE TABLE provider_device_grants (
    id TEXT PRIMARY KEY,
    device_code_hash BYTEA NOT NULL,
    user_code_hash BYTEA NOT NULL,
    app_id TEXT NOT NULL REFERENCES provider_apps (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    machine_name TEXT NOT NULL,
    client_ip TEXT,
    status TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    api_token_id TEXT,
    interval_secs BIGINT NOT NULL,
    last_polled_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_at BIGINT,
    CONSTRAINT provider_device_grants_device_key UNIQUE (device_code_hash),
    CONSTRAINT provider_device_grants_user_key UNIQUE (user_code_hash)
);
CREATE INDEX provider_device_grants_expiry ON provider_device_grants (expires_at);
