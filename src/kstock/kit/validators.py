"""Lenient spellings accepted by enum-like parameters: applied before validation (``BeforeValidator``)."""

from __future__ import annotations


def upper(value: object) -> object:
    """``kospi`` as ``KOSPI``; anything but a string is left for validation to refuse."""
    return value.upper() if isinstance(value, str) else value


def lower(value: object) -> object:
    """``DESC`` as ``desc``; anything but a string is left for validation to refuse."""
    return value.lower() if isinstance(value, str) else value
