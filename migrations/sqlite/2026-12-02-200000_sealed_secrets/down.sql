-- Going down drops the sealed full URLs and source configs (the masked ones stay) and
-- leaves the secret columns sealed.
DROP TABLE seal_keys;
ALTER TABLE webhooks DROP COLUMN url_sealed;
ALTER TABLE active_targets DROP COLUMN url_sealed;
ALTER TABLE evidence_sources DROP COLUMN config_sealed;
