DROP INDEX ai_models_archived;
ALTER TABLE ai_models DROP COLUMN archived_by;
ALTER TABLE ai_models DROP COLUMN archived_at;
