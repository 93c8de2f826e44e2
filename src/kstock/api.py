"""Mounts each domain's router under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from kstock.market.endpoints import router as market_router

v1 = APIRouter(prefix="/v1")
v1.include_router(market_router)
