DROP INDEX audit_runs_latest;
DROP TABLE dashboard_counts;
