"""Gateway concerns applied to every request: request ids, error rendering, logging."""
