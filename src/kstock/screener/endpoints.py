"""HTTP routes of the screener: run a screen, describe its fields, keep saved screens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, status
from starlette.responses import Response

from kstock.db.session import SessionDep
from kstock.errors import error_responses
from kstock.gateway.audit import read_only
from kstock.identity.dependencies import CurrentPrincipal
from kstock.identity.tiers import quota_limit
from kstock.kit.openapi import json_body
from kstock.kit.pagination import Page, PageDep
from kstock.kit.responses import JSONResponse
from kstock.kit.validators import StrictUUID
from kstock.market.dependencies import SnapshotDep, get_snapshot
from kstock.market.state import state_of
from kstock.screener import engine, service
from kstock.screener.schemas import (
    SPEC_EXAMPLE,
    WHERE_EXAMPLE,
    FieldList,
    SavedScreen,
    SavedScreenIn,
    SavedScreenList,
    ScreenDefinition,
    ScreenRequest,
    ScreenResult,
)

router = APIRouter(tags=["screener"])

ScreenId = Annotated[StrictUUID, Path(description="the saved screen's id")]
_SCREEN_EXAMPLES: dict[str, Any] = {
    "spec": {"summary": "Cheap, profitable dividend payers on KOSPI", "value": SPEC_EXAMPLE},
    "where": {"summary": "Nested logic and a column-vs-column condition", "value": WHERE_EXAMPLE},
    "everything": {"summary": "No filter: the whole market, paged", "value": {}},
}
_SAVED_EXAMPLE: dict[str, Any] = {
    "name": "Cheap quality dividend payers",
    "definition": {k: v for k, v in SPEC_EXAMPLE.items() if k not in ("page", "per_page")},
}


@router.post(
    "/screen",
    response_model=ScreenResult,
    summary="Screen the market",
    description="Filter every listed stock on any of the fields of `GET /v1/screen/fields` (`filters` ranges and "
    "sets, `where` nested logic, combined with AND), sort (nulls last) and page. Served from memory: "
    "`meta.query_time_ms` is the engine's time. A missing value never matches a condition, negated or not. "
    "400 for an unknown field (the error lists the valid ones), a non-numeric bound, per_page over 100 or a "
    "`where` deeper than 8 levels or with more than 50 conditions; 422 when min > max.",
    responses=error_responses(400, 413, 422, 503),
    openapi_extra=json_body(ScreenRequest, _SCREEN_EXAMPLES),
)
@read_only
async def screen(request: Request) -> Response:
    # The body is read here rather than declared: one pydantic-core pass over the bytes (see kit/openapi.py). The
    # snapshot is taken from the request too: every declared dependency is solved again on each request.
    snapshot = await get_snapshot(request)
    body, query = service.parse_screen(await request.body())
    page = Page(page=body.page, per_page=body.per_page)
    return JSONResponse(service.screen_response(snapshot, query, page))


@router.get(
    "/screen/fields",
    response_model=FieldList,
    summary="Screen fields",
    description="Every field a screen can filter, sort or return: type, unit, group, meaning, whether it is "
    "sortable, its operators and, for market, sector and industry, the values present.",
    responses=error_responses(400, 503),
)
async def screen_fields(snapshot: SnapshotDep) -> Response:
    return JSONResponse(service.describe_fields(snapshot))


@router.get(
    "/screens",
    response_model=SavedScreenList,
    summary="My saved screens",
    description="The caller's saved screens, oldest first, with the tier's limit.",
    responses=error_responses(400),
)
async def list_screens(session: SessionDep, principal: CurrentPrincipal) -> Response:
    screens = await service.list_screens(session, principal)
    meta = {"count": len(screens), "limit": quota_limit(principal, "saved_screens")}
    return JSONResponse({"screens": [service.saved_dict(s) for s in screens], "meta": meta})


@router.post(
    "/screens",
    response_model=SavedScreen,
    status_code=status.HTTP_201_CREATED,
    summary="Save a screen",
    description="Validated like `POST /v1/screen`. The free tier keeps at most 3 saved screens (basic 25, pro "
    "100): one more is 403 `TIER_LIMIT_EXCEEDED`. Names are unique per user (409 `SCREEN_NAME_TAKEN`).",
    responses=error_responses(400, 403, 409, 413, 422),
)
async def create_screen(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: Annotated[SavedScreenIn, Body(openapi_examples={"spec": {"value": _SAVED_EXAMPLE}})],
) -> Response:
    screen = await service.create_screen(session, principal, state_of(request).settings, body.name, body.definition)
    return JSONResponse(service.saved_dict(screen), status_code=status.HTTP_201_CREATED)


@router.get(
    "/screens/{screen_id}",
    response_model=SavedScreen,
    summary="One saved screen",
    description="404 `SCREEN_NOT_FOUND` for an unknown id and for another user's screen alike.",
    responses=error_responses(400, 404),
)
async def get_screen(session: SessionDep, principal: CurrentPrincipal, screen_id: ScreenId) -> Response:
    return JSONResponse(service.saved_dict(await service.get_screen(session, principal, screen_id)))


@router.put(
    "/screens/{screen_id}",
    response_model=SavedScreen,
    summary="Replace a saved screen",
    description="Replaces the name and the definition.",
    responses=error_responses(400, 404, 409, 422),
)
async def replace_screen(
    session: SessionDep,
    principal: CurrentPrincipal,
    screen_id: ScreenId,
    body: Annotated[SavedScreenIn, Body(openapi_examples={"spec": {"value": _SAVED_EXAMPLE}})],
) -> Response:
    screen = await service.replace_screen(session, principal, screen_id, body.name, body.definition)
    return JSONResponse(service.saved_dict(screen))


@router.delete(
    "/screens/{screen_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a saved screen",
    responses=error_responses(400, 404),
)
async def delete_screen(session: SessionDep, principal: CurrentPrincipal, screen_id: ScreenId) -> Response:
    """Delete one of the caller's saved screens (another user's is 404, like a missing one)."""
    await service.delete_screen(session, principal, screen_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/screens/{screen_id}/run",
    response_model=ScreenResult,
    summary="Run a saved screen",
    description="The saved definition over the current market; `page` and `per_page` as query parameters.",
    responses=error_responses(400, 404, 422, 503),
)
@read_only
async def run_screen(
    session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, screen_id: ScreenId, page: PageDep
) -> Response:
    screen = await service.get_screen(session, principal, screen_id)
    query = engine.compile_screen(ScreenDefinition.model_validate(screen.definition))
    return JSONResponse(service.screen_response(snapshot, query, page))
