"""The dashboard: static pages at ``/`` and ``/ui/...``; their scripts call the ``/v1`` API."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse

STATIC_DIR = resources.files("vitals.api") / "static"

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    # no-cache: the pages are tiny, and a redeploy must not leave CSMs on an old script.
    return FileResponse(str(STATIC_DIR / name), headers={"Cache-Control": "no-cache"})


@router.get("/")
@router.get("/ui/")
async def dashboard() -> FileResponse:
    return _page("index.html")


@router.get("/ui/customers/{customer_id}")
async def customer_page(customer_id: str) -> FileResponse:
    return _page("customer.html")


def static_files() -> StaticFiles:
    """Mounted at ``/ui/static`` (scripts and styles)."""
    return StaticFiles(directory=str(STATIC_DIR))
