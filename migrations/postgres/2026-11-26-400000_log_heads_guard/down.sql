DROP TRIGGER log_heads_no_rewind ON log_heads;
DROP TRIGGER log_heads_no_truncate ON log_heads;
DROP TRIGGER log_heads_no_delete ON log_heads;
DROP FUNCTION log_heads_forward_only();
