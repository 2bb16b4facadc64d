-- Running totals behind the dashboards, so that they never scan every finding or audit:
-- per model, finished audits by result and by status, findings by severity and by category.
-- Kept in the same transaction that writes an audit's results.
CREATE TABLE dashboard_counts (
    model_id TEXT NOT NULL REFERENCES ai_models (model_id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('result', 'status', 'severity', 'category')),
    value TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (model_id, kind, value)
);

INSERT INTO dashboard_counts (model_id, kind, value, n)
SELECT model_id, 'result', COALESCE(audit_result, ''), COUNT(*) FROM audit_runs
WHERE run_state = 'finished' GROUP BY model_id, COALESCE(audit_result, '');
INSERT INTO dashboard_counts (model_id, kind, value, n)
SELECT model_id, 'status', COALESCE(execution_status, ''), COUNT(*) FROM audit_runs
WHERE run_state = 'finished' GROUP BY model_id, COALESCE(execution_status, '');
INSERT INTO dashboard_counts (model_id, kind, value, n)
SELECT model_id, 'severity', severity, COUNT(*) FROM audit_findings GROUP BY model_id, severity;
INSERT INTO dashboard_counts (model_id, kind, value, n)
SELECT model_id, 'category', category, COUNT(*) FROM audit_findings GROUP BY model_id, category;

-- Each model's latest audits, newest first (the dashboards' "latest judged audit").
CREATE INDEX audit_runs_latest ON audit_runs (model_id, audit_type, id);

-- The model list's filters.
CREATE INDEX ai_models_type ON ai_models (model_type, id);
CREATE INDEX ai_models_connection ON ai_models (connection_type, id);
