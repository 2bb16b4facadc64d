ALTER TABLE active_targets DROP COLUMN api_style;
