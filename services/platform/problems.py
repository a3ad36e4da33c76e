"""HTTP errors as RFC 9457 problem details (``application/problem+json``), for every service.

One shape for every failure of ingest and the API: ``type`` (``urn:vitals:problem:<slug>``, a
stable name a client can branch on), ``title``, ``status``, ``detail`` (what to do), plus members
of the error's own (``errors`` for request validation, ``rejected`` for refused events). Every
body also carries ``code`` (= the slug) and ``message`` (= the detail): the two fields Segment's and
RudderStack's SDKs read from an error answer and log, so their logs say what went wrong.
Unexpected exceptions are logged and answered with a 500 problem that does not leak internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem types are URNs, not URLs: nothing is served at them, and RFC 9457 allows any URI.
PROBLEM_TYPE_PREFIX = "urn:vitals:problem:"


def slug_of(status: int) -> str:
    """The default slug of a status: its reason phrase, e.g. 404 -> ``not-found``."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    except ValueError:
        return "error"


def reason_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int, title: str, detail: str, slug: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The RFC 9457 members, the SDKs' ``code`` and ``message``, then ``extra`` members."""
    code = slug or slug_of(status)
    return {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "message": detail,
        **extra,
    }


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response; ``extra`` members are added to the body."""
    body = problem_body(status, title, detail, slug, **extra)
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


class Problem(HTTPException):
    """Raise from a route to answer with a problem; ``detail`` should say what to do."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        slug: str | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.title = title
        self.slug = slug


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, Problem):
        title, slug = exc.title, exc.slug
    else:
        title, slug = reason_of(exc.status_code), None
    return problem(exc.status_code, title, str(exc.detail), slug=slug, headers=exc.headers)


async def _validation_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return problem(422, "Invalid request", detail, slug="invalid-request", errors=errors)


def install(app: FastAPI, *, retry_after_s: int | None = None) -> None:
    """Route every error of ``app`` through problem+json. ``retry_after_s``: sent with a 500
    (a service whose clients retry, like ingest's SDKs, tells them when)."""

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if retry_after_s is None:
            return problem(500, "Internal error", "the server failed; it is logged, retry later")
        return problem(
            500,
            "Internal error",
            f"the server failed; it is logged. Retry after {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )

    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_exception)
    app.add_exception_handler(Exception, unexpected)
