-- Email waiting to be delivered (or, with the embedded default transport, kept for the admin API).
-- A row is written in the same store as everything else, so a restart loses nothing: a sender
-- claims due rows by pushing next_attempt_at forward (a lease), so several nodes never send the
-- same row at once; a node that dies mid-send leaves the row to be retried when the lease ends.
-- status: queued, sent, failed (gave up after the maximum number of attempts).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_tenant ON outbox (tenant_id, id);
