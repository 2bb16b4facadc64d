-- A chain's head may only grow: no deleting it, no moving it back.
CREATE TRIGGER log_heads_no_delete BEFORE DELETE ON log_heads
BEGIN
    SELECT RAISE(ABORT, 'log_heads is append-only');
END;
CREATE TRIGGER log_heads_no_rewind BEFORE UPDATE ON log_heads
WHEN NEW.entries < OLD.entries OR NEW.tenant_id <> OLD.tenant_id
BEGIN
    SELECT RAISE(ABORT, 'log_heads is append-only');
END;
