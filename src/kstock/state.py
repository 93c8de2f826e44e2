"""The one accessor of the application's state: :func:`state_of` a request or WebSocket connection.

The lifespan (``app.py``) builds one :class:`kstock.runtime.AppState` holding every resource of the running
instance and stores it once (:func:`install`). A part does not import that container (it names the types of every
part, so it sits above them all); it names what it reads from it as a Protocol of its own (``market/state.py``,
``identity/state.py``, ...) and types this function with it. ``kstock/runtime.py`` checks, under mypy, that the
container is every one of those views. This module imports nothing of kstock, so every part may use it.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp

ATTRIBUTE: Final = "kstock"


def state_of(connection: HTTPConnection) -> Any:
    """The application state of this request or connection (one attribute read after the app's)."""
    return connection.scope["app"].state.kstock


def state_of_app(app: ASGIApp) -> Any:
    """The application state of ``app`` (a FastAPI application whose lifespan has started)."""
    return app.state.kstock  # type: ignore[attr-defined]


def find_state_of_app(app: ASGIApp) -> Any | None:
    """The application state of ``app``, or None before its lifespan has stored one."""
    return getattr(app.state, ATTRIBUTE, None)  # type: ignore[attr-defined]


def install(app: ASGIApp, state: object) -> None:
    """Store the application state on ``app``, once, in its lifespan."""
    setattr(app.state, ATTRIBUTE, state)  # type: ignore[attr-defined]
