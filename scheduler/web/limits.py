"""The web's share of ``bounds``: one body-size limit for JSON and urlencoded
requests, ids and text fields typed with their bounds, validation errors
that never echo the input, and the error answers the OpenAPI document declares."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, StringConstraints
from starlette.exceptions import HTTPException

from scheduler.bounds import LIMITS, MAX_BODY, MAX_ID, TEXT, check_text, format_size
from scheduler.errors import N_, SchedulerError
from scheduler.i18n import gettext_for

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="a stored row's number")]


def _real_text(value: str) -> str:
    try:
        check_text("text", value, len(value) or 1)  # the length is StringConstraints' to check
    except SchedulerError as e:
        raise ValueError(e.render()) from None
    return value


def Text(field_name: str = "", limit: int | None = None):
    """A JSON string of at most the field's limit, without lone surrogates."""
    return Annotated[
        str, StringConstraints(max_length=limit or LIMITS.get(field_name, TEXT)), AfterValidator(_real_text)
    ]


class SafeJSON(JSONResponse):
    """JSON that survives a lone surrogate echoed in a message (escaped as ``\\ud800``)."""

    def render(self, content) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every refusal: a sentence, or one entry per field at fault."""

    detail: str | list[FieldProblem]


ERRORS = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "The body is not what its Content-Type says (JSON, UTF-8, a form)"),
        (401, "No token, or one that is unknown or revoked"),
        (403, "Not allowed for this user"),
        (404, "Not found"),
        (413, "The request body is over its limit"),
        (422, "A field is missing, malformed or out of its bounds"),
    )
}


async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 without the ``input`` it echoes: it may be megabytes, a
    secret, or a lone surrogate that cannot be encoded at all."""
    detail = [
        {
            "loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
            "msg": e.get("msg", ""),
            "type": e.get("type", "value_error"),
        }
        for e in exc.errors()
    ]
    return SafeJSON({"detail": detail}, status_code=422)


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI passes it on while it reads a body."""

    def __init__(self, limit: int, lang: str):
        super().__init__(
            413, gettext_for(lang)(N_("the request body is over {limit}")).format(limit=format_size(limit))
        )


class BodyLimit:
    """ASGI middleware: a JSON or urlencoded body over ``limit`` bytes is
    refused with 413, by its Content-Length or as it streams. Multipart bodies
    pass: evidence and schedule uploads stream under their own limits."""

    def __init__(self, app, lang: str, limit: int = MAX_BODY):
        self.app, self.lang, self.limit = app, lang, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            return await self.app(scope, receive, send)
        declared = headers.get(b"content-length", b"")
        if declared and (not declared.isdigit() or len(declared) > 15 or int(declared) > self.limit):
            body = BodyTooLarge(self.limit, self.lang)
            return await JSONResponse({"detail": body.detail}, 413)(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit, self.lang)
            return message

        await self.app(scope, counted, send)
