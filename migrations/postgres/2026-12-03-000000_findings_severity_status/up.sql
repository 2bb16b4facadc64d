-- The console's and the API's finding lists filtered by severity and workflow status count
-- their total through this index instead of reading every finding of the severity.
CREATE INDEX audit_findings_severity_status ON audit_findings (severity, status, id);
