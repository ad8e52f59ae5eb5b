"""Machine endpoints on the console's port: POST /api/classify (triage as an API, bearer token)
and GET /healthz (no data, no sign-in: for load balancers and the benchmark)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from mailorder.agent.console import auth
from mailorder.agent.console.classification import MAX_BODY, ClassifyRequest, classify
from mailorder.agent.console.deps import state
from mailorder.store import console as console_store

router = APIRouter()
MAX_REQUEST_BYTES = 2 * MAX_BODY * 4 + 64 * 1024  # body and html at up to 4 bytes a character
_UNAUTHORISED = {"WWW-Authenticate": 'Bearer realm="mailorder"'}


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@router.post("/api/classify")
async def classify_email(request: Request) -> Response:
    """{"mailbox", "sender", "subject", "body"[, "html"]} → {"label", "is_order", "confidence",
    "reasons"}: the production triage, with the mailbox's own label set when it has one."""
    token = _bearer(request)
    if token is None or len(token) > 200:
        return JSONResponse({"error": "a bearer token is needed"}, 401, headers=_UNAUTHORISED)
    console = state(request)
    token_hash = auth.sha256(token)
    if not console.token_cache.known(token_hash):
        with console.sessions() as session:
            if console_store.live_api_token(session, token_hash) is None:
                return JSONResponse({"error": "unknown or revoked token"}, 401, headers=_UNAUTHORISED)
        console.token_cache.remember(token_hash)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return JSONResponse({"error": "request too large"}, 413)
    body = await request.body()
    if len(body) > MAX_REQUEST_BYTES:
        return JSONResponse({"error": "request too large"}, 413)
    try:
        email = ClassifyRequest.model_validate_json(body)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()[:10]
        ]
        return JSONResponse({"error": "invalid request", "details": problems}, 422)
    result = classify(email, console.label_sets)
    return Response(result.model_dump_json(), media_type="application/json")


@router.get("/healthz")
def healthz() -> Response:
    return Response('{"status":"ok"}', media_type="application/json")
