-- The scope before the change cannot be told apart; nothing to undo.
SELECT 1;
