DROP INDEX ai_models_connection;
DROP INDEX ai_models_type;
DROP INDEX audit_runs_latest;
DROP TABLE dashboard_counts;
