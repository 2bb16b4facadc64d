-- A chain's head may only grow: no deleting it, no moving it back.
CREATE FUNCTION log_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'log_heads is append-only';
END;
$$;
CREATE TRIGGER log_heads_no_delete BEFORE DELETE ON log_heads
FOR EACH ROW EXECUTE FUNCTION log_heads_forward_only();
CREATE TRIGGER log_heads_no_truncate BEFORE TRUNCATE ON log_heads
FOR EACH STATEMENT EXECUTE FUNCTION log_heads_forward_only();
CREATE TRIGGER log_heads_no_rewind BEFORE UPDATE ON log_heads
FOR EACH ROW WHEN (NEW.entries < OLD.entries OR NEW.tenant_id <> OLD.tenant_id)
EXECUTE FUNCTION log_heads_forward_only();
