"""Database engine, sessions, model base and migrations."""
