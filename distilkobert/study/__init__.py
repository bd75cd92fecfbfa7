"""The real-data study: a teacher, a trimmed vocabulary, general and task distillation, and the NSMC table."""
