-- Notification targets: events of a tenant (optionally of one model) are POSTed to `url`,
-- signed with HMAC-SHA256 of `secret`. `last_event_id` is how far delivery has claimed.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    style TEXT NOT NULL CHECK (style IN ('json', 'slack', 'teams')),
    secret TEXT NOT NULL,
    model_id TEXT,
    results TEXT NOT NULL,
    min_severity TEXT,
    enabled BOOLEAN NOT NULL,
    last_event_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id);

-- Every delivery attempt.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    ok BOOLEAN NOT NULL,
    status_code INTEGER,
    error TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
