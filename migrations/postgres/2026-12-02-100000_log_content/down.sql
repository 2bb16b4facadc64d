DROP TABLE log_checkpoints;
DROP TRIGGER compliance_log_no_change ON compliance_log;
CREATE TRIGGER compliance_log_no_change BEFORE UPDATE OR DELETE ON compliance_log
FOR EACH ROW EXECUTE FUNCTION compliance_log_append_only();
DROP FUNCTION compliance_log_purge_only();
ALTER TABLE compliance_log DROP COLUMN signature;
ALTER TABLE compliance_log DROP COLUMN purged_at;
ALTER TABLE compliance_log DROP COLUMN content;
