"""One small module per kind of definition: partitions, project, resources, schedules, assets/."""
