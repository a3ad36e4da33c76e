"""The growth dashboard page (``/ui/growth``); its script calls the growth endpoints."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import FileResponse

from vitals.api.routes.ui import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/ui/growth")
async def growth_page() -> FileResponse:
    return FileResponse(str(STATIC_DIR / "growth.html"), headers={"Cache-Control": "no-cache"})
