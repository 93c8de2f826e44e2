"""structlog set-up: key-value lines, or JSON lines (``KSTOCK_LOG_JSON``, and always in production), with the
request id bound per request."""

from __future__ import annotations

import logging

import structlog

from kstock.config import Settings


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library through one renderer."""
    level = getattr(logging, settings.log_level, logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json or settings.is_production
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
