DROP TRIGGER log_checkpoints_no_delete;
DROP TRIGGER log_checkpoints_no_update;
DROP TABLE log_checkpoints;
DROP TRIGGER compliance_log_no_update;
CREATE TRIGGER compliance_log_no_update BEFORE UPDATE ON compliance_log
BEGIN
    SELECT RAISE(ABORT, 'compliance_log is append-only');
END;
ALTER TABLE compliance_log DROP COLUMN signature;
ALTER TABLE compliance_log DROP COLUMN purged_at;
ALTER TABLE compliance_log DROP COLUMN content;
