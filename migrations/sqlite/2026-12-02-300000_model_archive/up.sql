-- Archiving replaces deleting: an archived model keeps its audits, findings, reports and log
-- entries readable, its policy stops running, and the purge removes it with its records once
-- its tenant's records retention has passed since the archive (docs/retention.md).
ALTER TABLE ai_models ADD COLUMN archived_at TIMESTAMP;
ALTER TABLE ai_models ADD COLUMN archived_by TEXT;
CREATE INDEX ai_models_archived ON ai_models (tenant_id, archived_at);
