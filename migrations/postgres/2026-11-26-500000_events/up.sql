-- Live events (audit.started, audit.completed, finding.created, finding.updated) for SSE and
-- WebSocket clients; `id` is what a reconnecting client resumes from.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    model_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, id);
