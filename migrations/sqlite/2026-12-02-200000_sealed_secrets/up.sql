-- Secrets sealed at rest (docs/access.md, "Secrets at rest"). Each table keeps in its old
-- column what may be shown (the URL with its user-info and query values masked, a source
-- config with its secret values masked) and, in the new column, the full value sealed with
-- the server's seal key (XChaCha20-Poly1305, `sealed:v1:<key id>:...`); secret columns hold
-- sealed values. Rows written before this migration are sealed by the server at its next
-- start, not here: SQL has no key.
ALTER TABLE evidence_sources ADD COLUMN config_sealed TEXT;
ALTER TABLE active_targets ADD COLUMN url_sealed TEXT;
ALTER TABLE webhooks ADD COLUMN url_sealed TEXT;

-- Which key the database's values are sealed with (its id, never the key): a server with
-- another key refuses to start instead of sealing new values no other instance can open.
CREATE TABLE seal_keys (
    name TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
