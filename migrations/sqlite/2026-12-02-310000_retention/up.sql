-- How long a tenant keeps what it records (docs/retention.md). No row: the defaults of the EU AI
-- Act, 183 days of compliance-log payloads (Art. 19: at least six months) and 3650 days of
-- audit records and technical documentation (Art. 18: ten years).
CREATE TABLE tenant_retention (
    tenant_id TEXT PRIMARY KEY NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    log_days BIGINT NOT NULL CHECK (log_days >= 0),
    records_days BIGINT NOT NULL CHECK (records_days >= 0),
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL
);
