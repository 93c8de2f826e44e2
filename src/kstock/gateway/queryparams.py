"""Unknown query parameters are refused: a misspelt ``sort_by`` or a parameter a route does not take is a 400 naming
it, never silently ignored.

One dependency on every ``/v1`` route (:func:`reject_unknown_query`, added in ``api.mount_v1``). A route's
declared query parameters (its own and its dependencies', at any depth) are worked out from its dependant the
first time it is called and kept; a request without a query string costs one dict lookup.
"""

from __future__ import annotations

from typing import Final

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from kstock.errors import ValidationError

UNKNOWN: Final = "is not a known parameter"
_ATTRIBUTE: Final = "kstock_query_names"  # kept on the route object itself (routes are neither hashable nor few)


def declared_query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameter names (aliases) a dependant and all its sub-dependencies read; a parameter model
    (``Annotated[Model, Query()]``) contributes each of its fields."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                names.update(info.alias or name for name, info in model.model_fields.items())
            else:
                names.add(field.alias)
        pending.extend(current.dependencies)
    return frozenset(names)


def _declared(route: APIRoute) -> frozenset[str]:
    names: frozenset[str] | None = getattr(route, _ATTRIBUTE, None)
    if names is None:
        names = declared_query_names(route.dependant)
        setattr(route, _ATTRIBUTE, names)
    return names


async def reject_unknown_query(request: Request) -> None:
    """400 ``VALIDATION_ERROR`` naming every query parameter the matched route does not declare."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _declared(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in known]
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise ValidationError(
            f"Unknown query parameter(s): {', '.join(unknown)}; this endpoint takes: {takes}",
            {name: [UNKNOWN] for name in unknown},
        )
