DROP TRIGGER log_heads_no_rewind;
DROP TRIGGER log_heads_no_delete;
