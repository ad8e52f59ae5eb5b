"""The one error shape every mock-ERP error uses: {"success": false, "error": ..., "code": ...}."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


def code_for_status(status: int) -> str:
    return CODES_BY_STATUS.get(status, "CLIENT_ERROR" if status < 500 else "INTERNAL_ERROR")


def error_body(error: str, code: str, details: list[str] | None = None) -> dict:
    body: dict = {"success": False, "error": error, "code": code}
    if details and len(details) > 1:
        body["details"] = details
    return body


def error_response(
    status: int,
    error: str,
    code: str | None = None,
    *,
    details: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(error, code or code_for_status(status), details), status_code=status, headers=headers
    )


def describe_validation_errors(errors: Sequence[Any]) -> list[str]:
    """Pydantic/FastAPI errors as short readable strings: 'products.0.quantity: Input should be ...'."""
    described = []
    for err in errors:
        loc = ".".join(str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path"))
        described.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return described


def install_error_handlers(app: FastAPI) -> None:
    """Replace FastAPI's default error bodies so every error has the ERP's shape."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = describe_validation_errors(exc.errors())
        return error_response(
            422, "; ".join(details) or "Invalid request", "VALIDATION_ERROR", details=details
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, f"Internal error: {type(exc).__name__}", "INTERNAL_ERROR")
