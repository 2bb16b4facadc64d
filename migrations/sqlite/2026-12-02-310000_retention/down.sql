DROP TABLE tenant_retention;
