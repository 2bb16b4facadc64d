DROP TABLE active_targets;
