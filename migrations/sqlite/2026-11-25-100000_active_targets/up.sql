-- Where a model's active audit sends its probes. The secret is stored for use and never
-- returned by the API or written to a log.
CREATE TABLE active_targets (
    model_id TEXT PRIMARY KEY NOT NULL REFERENCES ai_models (model_id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    model_name TEXT NOT NULL,
    auth_header TEXT,
    secret TEXT,
    temperature DOUBLE PRECISION NOT NULL,
    max_tokens INTEGER NOT NULL,
    requests_per_minute INTEGER NOT NULL,
    timeout_secs INTEGER NOT NULL,
    max_calls BIGINT NOT NULL,
    token_budget BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
