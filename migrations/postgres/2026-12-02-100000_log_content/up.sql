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
CREATE FUNCTION compliance_log_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND NEW.content IS NULL AND OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL
        AND ROW(NEW.seq, NEW.tenant_id, NEW.tenant_seq, NEW.at, NEW.actor, NEW.action,
             NEW.object_type, NEW.object_id, NEW.digest, NEW.prev_hash, NEW.hash, NEW.signature)
          IS NOT DISTINCT FROM
            ROW(OLD.seq, OLD.tenant_id, OLD.tenant_seq, OLD.at, OLD.actor, OLD.action,
             OLD.object_type, OLD.object_id, OLD.digest, OLD.prev_hash, OLD.hash, OLD.signature)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'compliance_log is append-only';
END;
$$;
DROP TRIGGER compliance_log_no_change ON compliance_log;
CREATE TRIGGER compliance_log_no_change BEFORE UPDATE OR DELETE ON compliance_log
FOR EACH ROW EXECUTE FUNCTION compliance_log_purge_only();

-- Signed checkpoints: the chain's head at a moment, signed with the server's Ed25519 key (kept
-- outside the database). Someone who rewrites the log and its head cannot sign the result.
CREATE TABLE log_checkpoints (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    at TEXT NOT NULL,
    every_entries BIGINT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL,
    UNIQUE (tenant_id, sequence)
);
CREATE TRIGGER log_checkpoints_no_change BEFORE UPDATE OR DELETE ON log_checkpoints
FOR EACH ROW EXECUTE FUNCTION compliance_log_append_only();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION compliance_log_append_only();
