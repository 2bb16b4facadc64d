-- The six tables of seed 000 (exact columns) plus what the pipeline needs: profile snapshots
-- (aggregates only), baseline approvals, run windows, execution reasons and claim state.
-- Timestamps are UTC. JSON columns hold text.

CREATE TABLE ai_models (
    id BIGSERIAL PRIMARY KEY,
    model_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    model_type TEXT NOT NULL CHECK (model_type IN ('llm', 'ml')),
    connection_type TEXT NOT NULL
        CHECK (connection_type IN ('api', 'logs', 'batch', 'container', 'sample')),
    created_at TIMESTAMP NOT NULL,
    description TEXT,
    owner TEXT,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX ai_models_created ON ai_models (created_at);

CREATE TABLE evidence_sources (
    id BIGSERIAL PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES ai_models (model_id) ON DELETE CASCADE,
    type TEXT NOT NULL CHECK (type IN ('api', 'logs', 'batch', 'container', 'sample')),
    config TEXT NOT NULL,
    read_only BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX evidence_sources_model ON evidence_sources (model_id);

CREATE TABLE audit_policies (
    id BIGSERIAL PRIMARY KEY,
    model_id TEXT NOT NULL UNIQUE REFERENCES ai_models (model_id) ON DELETE CASCADE,
    audit_frequency TEXT NOT NULL CHECK (audit_frequency IN ('daily', 'weekly', 'monthly')),
    baseline_strategy TEXT NOT NULL
        CHECK (baseline_strategy IN ('previous_audit', 'model_version')),
    audit_scope TEXT NOT NULL,
    policy_reference TEXT,
    active_audit_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    thresholds TEXT,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_run_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_policies_due ON audit_policies (enabled, next_run_at);

CREATE TABLE audit_runs (
    id BIGSERIAL PRIMARY KEY,
    audit_id TEXT NOT NULL UNIQUE,
    model_id TEXT NOT NULL REFERENCES ai_models (model_id) ON DELETE CASCADE,
    audit_type TEXT NOT NULL CHECK (audit_type IN ('passive', 'active')),
    scheduled_at TIMESTAMP NOT NULL,
    executed_at TIMESTAMP,
    execution_status TEXT CHECK (execution_status IN ('SUCCESS', 'PARTIAL', 'FAILED')),
    audit_result TEXT
        CHECK (audit_result IN ('AUDIT_PASS', 'AUDIT_WARN', 'AUDIT_FAIL', 'BASELINE_CREATED')),
    run_state TEXT NOT NULL DEFAULT 'running' CHECK (run_state IN ('running', 'finished')),
    trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('schedule', 'manual')),
    model_version TEXT NOT NULL,
    window_start TIMESTAMP,
    window_end TIMESTAMP NOT NULL,
    execution_reason TEXT,
    evidence TEXT,
    baseline_audit_id TEXT,
    -- One run per model, type and scheduled slot: a restart or a second instance cannot
    -- run the same slot twice.
    UNIQUE (model_id, audit_type, scheduled_at)
);
CREATE INDEX audit_runs_model_time ON audit_runs (model_id, executed_at);
CREATE INDEX audit_runs_executed ON audit_runs (executed_at);
CREATE INDEX audit_runs_result ON audit_runs (audit_result, executed_at);
CREATE INDEX audit_runs_status ON audit_runs (execution_status, executed_at);
CREATE INDEX audit_runs_type ON audit_runs (audit_type, executed_at);
CREATE INDEX audit_runs_state ON audit_runs (run_state);

CREATE TABLE audit_summaries (
    audit_id TEXT PRIMARY KEY NOT NULL REFERENCES audit_runs (audit_id) ON DELETE CASCADE,
    drift_score DOUBLE PRECISION NOT NULL,
    bias_score DOUBLE PRECISION NOT NULL,
    risk_score DOUBLE PRECISION NOT NULL,
    total_findings INTEGER NOT NULL,
    critical_findings INTEGER NOT NULL,
    high_findings INTEGER NOT NULL,
    metrics TEXT NOT NULL
);

CREATE TABLE audit_findings (
    id BIGSERIAL PRIMARY KEY,
    audit_id TEXT NOT NULL REFERENCES audit_runs (audit_id) ON DELETE CASCADE,
    category TEXT NOT NULL
        CHECK (category IN ('drift', 'bias', 'risk', 'compliance', 'security')),
    rule_id TEXT,
    severity TEXT NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    metric_name TEXT NOT NULL,
    baseline_value DOUBLE PRECISION,
    current_value DOUBLE PRECISION,
    deviation_percentage DOUBLE PRECISION,
    description TEXT NOT NULL,
    -- Copied from the run so that list filters need no join.
    model_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_findings_audit ON audit_findings (audit_id);
CREATE INDEX audit_findings_severity ON audit_findings (severity, id);
CREATE INDEX audit_findings_category ON audit_findings (category, id);
CREATE INDEX audit_findings_model ON audit_findings (model_id, id);
CREATE INDEX audit_findings_created ON audit_findings (created_at);

-- The baseline store: one profile (aggregates only) per finished passive audit.
CREATE TABLE profile_snapshots (
    audit_id TEXT PRIMARY KEY NOT NULL REFERENCES audit_runs (audit_id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    model_version TEXT NOT NULL,
    profile TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX profile_snapshots_model ON profile_snapshots (model_id, created_at);

-- An approval makes an audit's profile the model's baseline (latest approval wins).
CREATE TABLE baseline_approvals (
    id BIGSERIAL PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES ai_models (model_id) ON DELETE CASCADE,
    audit_id TEXT NOT NULL REFERENCES audit_runs (audit_id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    approved_at TIMESTAMP NOT NULL,
    approved_by TEXT NOT NULL,
    note TEXT
);
CREATE INDEX baseline_approvals_model ON baseline_approvals (model_id, model_version, approved_at);

-- Uploaded samples, reduced to a profile on arrival (the upload itself is not kept); the next
-- audit of the model's `sample` source merges the pending ones.
CREATE TABLE sample_profiles (
    id BIGSERIAL PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES ai_models (model_id) ON DELETE CASCADE,
    profile TEXT NOT NULL,
    rows_read BIGINT NOT NULL,
    uploaded_at TIMESTAMP NOT NULL,
    consumed_by TEXT
);
CREATE INDEX sample_profiles_pending ON sample_profiles (model_id, consumed_by);
