"""A value Postgres refuses to store is the caller's input problem: 422, never 500.

Validation catches the shapes FastAPI knows; some values only fail when Postgres reads
them (a NUL byte in any text field, a number past a column's range). One handler for
Postgres' data exceptions (SQLSTATE class 22) answers those with a 422 naming the
problem, so no route has to foresee every such value and none answers 500 for them.
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


def refuse_unstorable_values(app: FastAPI) -> None:
    """Answer Postgres data exceptions raised while handling a request with 422."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        primary = exc.diag.message_primary if isinstance(exc, psycopg.Error) else None
        reason = primary or str(exc).splitlines()[0]
        log.info("%s %s refused a value: %s", request.method, request.url.path, reason)
        return JSONResponse(status_code=422, content={"detail": f"a value was refused: {reason}"})

    app.add_exception_handler(psycopg.DataError, handler)
