-- Governance: tenants and projects own models; users, API keys and login sessions belong to a
-- tenant; an append-only, hash-chained compliance log; model versions; a findings workflow.

CREATE TABLE tenants (
    tenant_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
-- The tenant of everything that existed before tenants; its admins operate every tenant.
INSERT INTO tenants (tenant_id, name, created_at) VALUES ('default', 'default', CURRENT_TIMESTAMP);

CREATE TABLE projects (
    project_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    task_type TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, name)
);
INSERT INTO projects (project_id, tenant_id, name, task_type, created_at)
VALUES ('default', 'default', 'default', 'classification', CURRENT_TIMESTAMP);

-- SQLite cannot add a column with a REFERENCES clause and a non-NULL default: the store keeps
-- these consistent (PostgreSQL has the foreign keys).
ALTER TABLE ai_models ADD COLUMN tenant_id TEXT NOT NULL DEFAULT 'default';
ALTER TABLE ai_models ADD COLUMN project_id TEXT NOT NULL DEFAULT 'default';
CREATE INDEX ai_models_tenant ON ai_models (tenant_id, id);
CREATE INDEX ai_models_project ON ai_models (project_id, id);

CREATE TABLE users (
    user_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'auditor', 'admin')),
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id);

CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'auditor', 'admin')),
    -- SHA-256 of the whole key: keys are 256-bit random, so a slow hash adds nothing.
    key_hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- One hash chain per tenant: each entry's hash covers its predecessor's hash.
CREATE TABLE compliance_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    tenant_seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (tenant_id, tenant_seq)
);
CREATE INDEX compliance_log_object ON compliance_log (tenant_id, object_type, object_id);

CREATE TRIGGER compliance_log_no_update BEFORE UPDATE ON compliance_log
BEGIN
    SELECT RAISE(ABORT, 'compliance_log is append-only');
END;
CREATE TRIGGER compliance_log_no_delete BEFORE DELETE ON compliance_log
BEGIN
    SELECT RAISE(ABORT, 'compliance_log is append-only');
END;

-- The last entry of each chain: appends lock this row, and verify compares the chain's end with
-- it, so a removed last entry is noticed.
CREATE TABLE log_heads (
    tenant_id TEXT PRIMARY KEY NOT NULL,
    entries BIGINT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE model_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id TEXT NOT NULL REFERENCES ai_models (model_id) ON DELETE CASCADE,
    version_tag TEXT NOT NULL,
    artifact_location TEXT,
    notes TEXT,
    metrics TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (model_id, version_tag)
);

ALTER TABLE audit_findings ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE audit_findings ADD COLUMN status_actor TEXT;
ALTER TABLE audit_findings ADD COLUMN status_at TIMESTAMP;
ALTER TABLE audit_findings ADD COLUMN status_note TEXT;
CREATE INDEX audit_findings_status ON audit_findings (status, id);
