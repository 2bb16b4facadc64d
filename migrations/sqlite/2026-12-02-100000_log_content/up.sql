-- What changed, not only its digest: `content` is the change's JSON (fields before and after,
-- secrets as fingerprints), and `digest` is the SHA-256 of exactly that text. A purge past the
-- retention period clears `content` and sets `purged_at`; the digest and hash stay, so the chain
-- still verifies.
ALTER TABLE compliance_log ADD COLUMN content TEXT;
ALTER TABLE compliance_log ADD COLUMN purged_at TEXT;
-- The server's Ed25519 signature of the entry's hash: nobody without the key (kept outside the
-- database) can add an entry that verifies, anywhere in the chain.
ALTER TABLE compliance_log ADD COLUMN signature TEXT;

-- The only update allowed: a purge of the payload, every other column unchanged.
DROP TRIGGER compliance_log_no_update;
CREATE TRIGGER compliance_log_no_update BEFORE UPDATE ON compliance_log
WHEN NOT (
    NEW.content IS NULL AND OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL
    AND NEW.seq = OLD.seq AND NEW.tenant_id = OLD.tenant_id AND NEW.tenant_seq = OLD.tenant_seq
    AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
    AND NEW.object_type = OLD.object_type AND NEW.object_id = OLD.object_id
    AND NEW.digest = OLD.digest AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
    AND NEW.signature IS OLD.signature
)
BEGIN
    SELECT RAISE(ABORT, 'compliance_log is append-only');
END;

-- Signed checkpoints: the chain's head at a moment, signed with the server's Ed25519 key (kept
-- outside the database). Someone who rewrites the log and its head cannot sign the result.
CREATE TABLE log_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    -- The checkpoint's number in its tenant's series, from 1.
    sequence BIGINT NOT NULL,
    -- How many entries of the chain it covers, and the hash of the last of them.
    entries BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    at TEXT NOT NULL,
    -- The entry interval in force when it was made (verify uses it to notice missing ones).
    every_entries BIGINT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL,
    UNIQUE (tenant_id, sequence)
);
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'log_checkpoints is append-only');
END;
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'log_checkpoints is append-only');
END;
