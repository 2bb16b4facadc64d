DROP TABLE named_baselines;
