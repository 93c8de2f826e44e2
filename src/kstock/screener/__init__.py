"""Screening: the columnar snapshot, the condition language, the engine and saved screens."""
