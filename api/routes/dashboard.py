"""The ops dashboard: one page for supervisors, and the scripts and styles it loads.

The page (`api/static/dashboard.html`, its modules in `api/static/dashboard/`) is
plain HTML and ES modules: no build step, nothing fetched from a CDN. Everything it
shows comes from the public API (campaigns, controls, live calls and their events,
analytics), called from the browser with the operator's API key, so these routes hold
no data and need no key themselves: the page asks for one.

The only server-side value the page needs is where the Temporal UI lives (a setting),
written into a `<meta>` tag when the page is served.
"""

from __future__ import annotations

import html
import re
from importlib import resources

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse, Response

from api.deps import Services

router = APIRouter(tags=["dashboard"])

# Asset names are plain words with a .js or .css suffix: nothing else (no folders, no
# dots before the suffix) can name a file, so no path ever leaves the assets folder.
_ASSET = re.compile(r"[a-z][a-z0-9_-]*\.(js|css)")
_MEDIA_TYPES = {"js": "text/javascript", "css": "text/css"}
_TEMPORAL_UI_MARK = "{{temporal_ui}}"
_NO_CACHE = {"Cache-Control": "no-cache"}


def _static(name: str) -> str:
    return resources.files("api").joinpath("static").joinpath(name).read_text(encoding="utf-8")


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def page(services: Services) -> HTMLResponse:
    """The dashboard page, pointing its Temporal links at this deployment's UI."""
    ui = html.escape(services.settings.temporal_ui_namespace_url, quote=True)
    body = _static("dashboard.html").replace(_TEMPORAL_UI_MARK, ui)
    return HTMLResponse(body, headers=_NO_CACHE)


@router.get("/dashboard/assets/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    """One of the page's modules or its stylesheet.

    Raises:
        HTTPException: 404, no such asset.
    """
    match = _ASSET.fullmatch(name)
    if match is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no dashboard asset {name!r}")
    try:
        text = _static(f"dashboard/{name}")
    except FileNotFoundError as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no dashboard asset {name!r}"
        ) from exc
    return Response(text, media_type=_MEDIA_TYPES[match.group(1)], headers=_NO_CACHE)
