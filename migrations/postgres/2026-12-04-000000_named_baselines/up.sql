-- Named baselines (the existing frontend's /v1/baselines): a model's evidence over a window,
-- built by an audit run of its own whose profile is approved as the model's baseline when it
-- finishes. The run, its profile and the approval are the ordinary records; this row names them.
CREATE TABLE named_baselines (
    baseline_id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL,
    model_id TEXT NOT NULL REFERENCES ai_models (model_id) ON DELETE CASCADE,
    audit_id TEXT NOT NULL UNIQUE REFERENCES audit_runs (audit_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    source_type TEXT,
    window_start TIMESTAMP,
    window_end TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (model_id, name)
);
CREATE INDEX named_baselines_project ON named_baselines (project_id, created_at);
