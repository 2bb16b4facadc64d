-- Scheduled active audits now also need `active_security` in the audit scope. Policies that
-- already enabled active audits keep probing: their scope gains the flag.
UPDATE audit_policies
SET audit_scope = REPLACE(audit_scope, '"active_security":false', '"active_security":true')
WHERE active_audit_enabled;
