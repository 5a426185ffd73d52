"""The admin HTTP API: organisations, accounts, KYC records, keys, screening, risk and the
reviewer's disposition of it, and the report inputs (routes in `admin_reports`).

Why a separate Starlette app with its own bearer token: administration must never be
reachable with a customer's API key, and the gateway mounts it under /admin only when an
admin token is configured. The OpenAPI 3.1 document beside this file
(`admin_openapi.yaml`) is the contract for everything under /admin, the gateway's own
operator routes (ops.py) included: request bodies are validated against its schemas
(unknown fields, wrong types -> 400), and a test enumerates every route the gateway mounts
(methods included) and checks it against the document, both ways.
Database work runs in a worker thread so the gateway's event loop never blocks on it.
Owned by the identity part (see docs/identity.md).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from distillguard.errors import DistillguardError
from distillguard.gateway.admin_reports import ROUTES as REPORT_ROUTES
from distillguard.gateway.admin_reports import ReportsContext, ReportsHandler
from distillguard.identity import (
    ConflictError,
    IdentityService,
    IdentityUnavailable,
    NotFoundError,
)
from distillguard.identity.records import ACTOR

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MIN_TOKEN_LEN = 16
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    500: "server_error",
    503: "server_error",
}


@cache
def openapi_spec() -> dict[str, Any]:
    """The admin API's OpenAPI 3.1 document (loaded once from the YAML beside this file)."""
    import yaml

    text = resources.files("distillguard.gateway").joinpath("admin_openapi.yaml").read_text()
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


def _error(status: int, code: str, message: str, param: str | None = None) -> Response:
    body = {"error": {"message": message, "type": _TYPES[status], "param": param, "code": code}}
    headers = {"www-authenticate": "Bearer"} if status == 401 else None
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def _json(status: int, data: Any) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets: path parameters, query parameters and the validated body (and,
    for the report routes, where the reports part records)."""

    path: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]
    reports: ReportsContext | None = None
    actor: str | None = None  # the operator named by the X-Actor header, if any


Handler = Callable[[IdentityService, Call], tuple[int, Any]]
Endpoint = Callable[[Request], Awaitable[Response]]


# -- handlers (run in a worker thread) -------------------------------------------------
def _kyc_view(ids: IdentityService, subject_id: str, organisation: bool) -> dict[str, Any]:
    rec = ids.get_kyc_record(subject_id)
    return {
        "subject_id": subject_id,
        "record": rec.to_dict() if rec else None,
        "missing": rec.missing(organisation=organisation) if rec else ["record"],
    }


def _account_screening(ids: IdentityService, account_id: str) -> dict[str, Any]:
    snap = ids.snapshot(account_id)
    s = snap.to_context()["screening"]
    return {"subject_id": snap.account.id, **s, "at": snap.account.screening_at}


def _org_screening(ids: IdentityService, ref: str) -> dict[str, Any]:
    o = ids.get_org(ref)
    return {
        "subject_id": o.id,
        "status": o.screening_status,
        "account_status": None,
        "org_status": o.screening_status,
        "ref": o.screening_ref,
        "at": o.screening_at,
    }


def _risk(ids: IdentityService, account_id: str) -> dict[str, Any]:
    a = ids.get_account(account_id)
    return {"score": a.risk_score, "verdict": a.risk_verdict, "campaign": a.risk_campaign,
            "at": a.risk_at}  # fmt: skip


def _review(ids: IdentityService, account_id: str) -> dict[str, Any]:
    """The reviewer's disposition and how it stands against the detector's state now."""
    a = ids.get_account(account_id)
    r = a.review
    lapse = r.lapse(a.risk_score, a.risk_campaign) if r else None
    return {
        "account_id": a.id,
        "review": r.to_dict() if r else None,
        "state": "none" if r is None else ("lapsed" if lapse else r.disposition),
        "lapse_reason": lapse,
        "risk": _risk(ids, a.id),
    }


def _reviewer(c: Call) -> str:
    """The reviewer named in the body, else the operator named by the X-Actor header."""
    who = c.body.get("reviewer") or c.actor
    if not who:
        raise DistillguardError(
            "reviewer: name the reviewer (body field `reviewer` or the X-Actor header)"
        )
    return str(who)


def _review_put(ids: IdentityService, c: Call) -> tuple[int, Any]:
    b = c.body
    ids.set_review(
        c.path["account_id"], b["disposition"], reviewer=_reviewer(c), reason=b["reason"],
        expires_at=b.get("expires_at"), ttl_days=b.get("ttl_days"), margin=b.get("margin"),
    )  # fmt: skip
    return 200, _review(ids, c.path["account_id"])


def _review_delete(ids: IdentityService, c: Call) -> tuple[int, Any]:
    ids.remove_review(c.path["account_id"], reviewer=_reviewer(c), reason=c.body["reason"])
    return 200, _review(ids, c.path["account_id"])


def _limit(query: dict[str, str]) -> int:
    raw = query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise DistillguardError(f"limit: {raw!r} is not an integer from 1 to 1000")
    return int(raw)


def _issue(ids: IdentityService, c: Call) -> tuple[int, Any]:
    key_id, plaintext = ids.issue_key(c.path["account_id"], **c.body)
    return 201, {
        "key": ids.get_key(key_id).to_dict(),
        "plaintext": plaintext,
        "warning": "This is the only time the key is shown; only its hash is stored.",
    }


def _org_kyc_put(ids: IdentityService, c: Call) -> tuple[int, Any]:
    org = ids.get_org(c.path["org_id"])
    ids.set_kyc_record(org.id, c.body)
    return 200, _kyc_view(ids, org.id, True)


def _acct_kyc_put(ids: IdentityService, c: Call) -> tuple[int, Any]:
    acct = ids.get_account(c.path["account_id"])
    ids.set_kyc_record(acct.id, c.body)
    return 200, _kyc_view(ids, acct.id, False)


def _org_screening_put(ids: IdentityService, c: Call) -> tuple[int, Any]:
    org = ids.get_org(c.path["org_id"])
    ids.set_screening_status(org.id, c.body["status"], c.body.get("ref"))
    return 200, _org_screening(ids, org.id)


def _acct_screening_put(ids: IdentityService, c: Call) -> tuple[int, Any]:
    acct = ids.get_account(c.path["account_id"])
    ids.set_screening_status(acct.id, c.body["status"], c.body.get("ref"))
    return 200, _account_screening(ids, acct.id)


def _risk_put(ids: IdentityService, c: Call) -> tuple[int, Any]:
    b = c.body
    ids.set_risk(c.path["account_id"], b["score"], b["verdict"], b.get("campaign"))
    return 200, _risk(ids, c.path["account_id"])


def _org_id(c: Call) -> str:
    return c.path["org_id"]


def _acct_id(c: Call) -> str:
    return c.path["account_id"]


# (method, path, operationId, handler); paths are relative to the /admin mount.
ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", "/orgs", "listOrgs",
     lambda ids, c: (200, {"data": [o.to_dict() for o in ids.list_orgs()]})),
    ("POST", "/orgs", "createOrg", lambda ids, c: (201, ids.create_org(**c.body).to_dict())),
    ("GET", "/orgs/{org_id}", "getOrg", lambda ids, c: (200, ids.get_org(_org_id(c)).to_dict())),
    ("PATCH", "/orgs/{org_id}", "updateOrg",
     lambda ids, c: (200, ids.update_org(_org_id(c), **c.body).to_dict())),
    ("POST", "/orgs/{org_id}/suspend", "suspendOrg",
     lambda ids, c: (200, ids.suspend_org(_org_id(c), c.body["reason"]).to_dict())),
    ("POST", "/orgs/{org_id}/reactivate", "reactivateOrg",
     lambda ids, c: (200, ids.reactivate_org(_org_id(c), c.body.get("reason")).to_dict())),
    ("GET", "/orgs/{org_id}/kyc", "getOrgKyc",
     lambda ids, c: (200, _kyc_view(ids, ids.get_org(_org_id(c)).id, True))),
    ("PUT", "/orgs/{org_id}/kyc", "putOrgKyc", _org_kyc_put),
    ("GET", "/orgs/{org_id}/screening", "getOrgScreening",
     lambda ids, c: (200, _org_screening(ids, _org_id(c)))),
    ("PUT", "/orgs/{org_id}/screening", "putOrgScreening", _org_screening_put),
    ("GET", "/accounts", "listAccounts",
     lambda ids, c: (200, {"data": [a.to_dict() for a in ids.list_accounts(
         org_id=c.query.get("org_id"), status=c.query.get("status"))]})),
    ("POST", "/accounts", "createAccount",
     lambda ids, c: (201, ids.create_account(**c.body).to_dict())),
    ("GET", "/accounts/{account_id}", "getAccount",
     lambda ids, c: (200, ids.get_account(_acct_id(c)).to_dict())),
    ("PATCH", "/accounts/{account_id}", "updateAccount",
     lambda ids, c: (200, ids.update_account(_acct_id(c), **c.body).to_dict())),
    ("POST", "/accounts/{account_id}/suspend", "suspendAccount",
     lambda ids, c: (200, ids.suspend_account(_acct_id(c), c.body["reason"]).to_dict())),
    ("POST", "/accounts/{account_id}/reactivate", "reactivateAccount",
     lambda ids, c: (200, ids.reactivate_account(_acct_id(c), c.body.get("reason")).to_dict())),
    ("PUT", "/accounts/{account_id}/kyc-level", "setKycLevel",
     lambda ids, c: (200, ids.set_kyc_level(
         _acct_id(c), c.body["kyc_level"], c.body.get("reason")).to_dict())),
    ("GET", "/accounts/{account_id}/kyc", "getAccountKyc",
     lambda ids, c: (200, _kyc_view(ids, ids.get_account(_acct_id(c)).id, False))),
    ("PUT", "/accounts/{account_id}/kyc", "putAccountKyc", _acct_kyc_put),
    ("GET", "/accounts/{account_id}/screening", "getAccountScreening",
     lambda ids, c: (200, _account_screening(ids, _acct_id(c)))),
    ("PUT", "/accounts/{account_id}/screening", "putAccountScreening", _acct_screening_put),
    ("GET", "/accounts/{account_id}/risk", "getAccountRisk",
     lambda ids, c: (200, _risk(ids, _acct_id(c)))),
    ("PUT", "/accounts/{account_id}/risk", "putAccountRisk", _risk_put),
    ("GET", "/accounts/{account_id}/review", "getAccountReview",
     lambda ids, c: (200, _review(ids, _acct_id(c)))),
    ("PUT", "/accounts/{account_id}/review", "putAccountReview", _review_put),
    ("DELETE", "/accounts/{account_id}/review", "deleteAccountReview", _review_delete),
    ("GET", "/accounts/{account_id}/context", "getAccountContext",
     lambda ids, c: (200, ids.snapshot(_acct_id(c)).to_context())),
    ("GET", "/accounts/{account_id}/changes", "getAccountChanges",
     lambda ids, c: (200, {"data": ids.changes(
         ids.get_account(_acct_id(c)).id, limit=_limit(c.query))})),
    ("GET", "/accounts/{account_id}/keys", "listAccountKeys",
     lambda ids, c: (200, {"data": [k.to_dict() for k in ids.list_keys(_acct_id(c))]})),
    ("POST", "/accounts/{account_id}/keys", "issueKey", _issue),
    ("GET", "/keys", "listKeys",
     lambda ids, c: (200, {"data": [k.to_dict() for k in ids.list_keys()]})),
    ("GET", "/keys/{key_id}", "getKey",
     lambda ids, c: (200, ids.get_key(c.path["key_id"]).to_dict())),
    ("POST", "/keys/{key_id}/revoke", "revokeKey",
     lambda ids, c: (200, ids.revoke_key(c.path["key_id"], c.body.get("reason")).to_dict())),
]  # fmt: skip


def _reports_route(handler: ReportsHandler) -> Handler:
    """A report-input handler as an admin handler (its context travels in the call)."""

    def run(ids: IdentityService, call: Call) -> tuple[int, Any]:
        if call.reports is None:
            raise IdentityUnavailable("report inputs are not configured on this admin API")
        return handler(call.reports, call)

    return run


ROUTES += [(m, p, op, _reports_route(h)) for m, p, op, h in REPORT_ROUTES]


# -- the app ---------------------------------------------------------------------------
def _as_actor(actor: str, handler: Handler, ids: IdentityService, call: Call) -> tuple[int, Any]:
    """Run a handler (in a worker thread) with `actor` recorded in the audit trail."""
    token = ACTOR.set(actor)
    try:
        return handler(ids, call)
    finally:
        ACTOR.reset(token)


def _body_validators(spec: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, bool]]:
    """(method, path) -> (JSON-Schema validator for the body, body required)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry: Registry[Any] = Registry().with_resource(
        "urn:dg-admin", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    out: dict[tuple[str, str], tuple[Any, bool]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            rb = op.get("requestBody") if isinstance(op, dict) else None
            if not rb:
                continue
            ref = rb["content"]["application/json"]["schema"]["$ref"]
            schema = {"$ref": "urn:dg-admin" + ref}
            out[(method.upper(), path)] = (
                Draft202012Validator(schema, registry=registry),
                bool(rb.get("required")),
            )
    return out


def _validate(validator: Any, body: Any) -> None:
    from jsonschema.exceptions import best_match

    err = best_match(validator.iter_errors(body))
    if err is not None:
        where = ".".join(str(p) for p in err.absolute_path)
        raise _BadBody(f"{where + ': ' if where else ''}{err.message}", where or None)


class _BadBody(Exception):
    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None once it exceeds MAX_BODY (reading stops there, so an oversized
    body is never buffered whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_body(
    raw: bytes, validator: tuple[Any, bool] | None, route: str
) -> dict[str, Any] | Response:
    """The JSON body checked against the route's schema, or the 400 response saying why.

    Any content type is accepted: `curl -d` sends form-encoded headers with JSON bodies, and
    the bearer header (never sent by browsers on their own) rules out CSRF."""
    if validator is None:
        if raw.strip():
            return _error(400, "invalid_request", f"{route} takes no body")
        return {}
    vdr, required = validator
    if not raw.strip() and not required:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _error(400, "invalid_json", f"body is not valid JSON: {exc}")
    try:
        _validate(vdr, body)
    except _BadBody as exc:
        return _error(400, "invalid_request", str(exc), exc.param)
    return cast(dict[str, Any], body)


@cache
def _validators() -> dict[tuple[str, str], tuple[Any, bool]]:
    return _body_validators(openapi_spec())


async def read_admin_body(request: Request, method: str, path: str) -> dict[str, Any] | Response:
    """The request's body checked against the spec's schema for (method, path), or the
    413/400 response saying why (for the gateway's own /admin routes in ops.py, so they are
    validated by the same document as the identity routes)."""
    raw = await _read_body(request)
    if raw is None:
        return _error(413, "request_too_large", f"body larger than {MAX_BODY} bytes")
    return _parse_body(raw, _validators().get((method, path)), f"{method} {path}")


@cache
def _default_reference() -> Any:
    from distillguard.rules import RuleEngine, default_pack_path

    return RuleEngine.from_path(default_pack_path()).reference


def build_admin_app(
    ids: IdentityService, admin_token: str, reports: ReportsContext | None = None
) -> Starlette:
    """The admin API as a Starlette app (routes relative to where it is mounted, /admin).

    `reports`: where the report-input routes record; default the identity database and
    the shipped rule pack."""
    if not isinstance(admin_token, str) or len(admin_token) < MIN_TOKEN_LEN:
        raise DistillguardError(
            f"the admin token must be at least {MIN_TOKEN_LEN} characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    expected = f"Bearer {admin_token}".encode()
    spec = openapi_spec()
    validators = _validators()
    if reports is None:
        reports = ReportsContext(ids.db, _default_reference)

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "").encode("latin-1", "replace")
        return hmac.compare_digest(given, expected)

    def endpoint(
        method: str, path: str, handler: Handler
    ) -> Callable[[Request], Awaitable[Response]]:
        validator = validators.get((method, path))

        async def run(request: Request) -> Response:
            if not authorised(request):
                return _error(401, "invalid_admin_token", "missing or wrong admin token")
            raw = await _read_body(request)
            if raw is None:
                return _error(413, "request_too_large", f"body larger than {MAX_BODY} bytes")
            body = _parse_body(raw, validator, f"{method} {path}")
            if isinstance(body, Response):
                return body
            actor = "admin-api"
            named = request.headers.get("x-actor", "").strip()
            named = "".join(ch for ch in named[:100] if ch.isprintable())
            if named:  # an operator's name for the audit trail (recorded, not verified)
                actor += ":" + named
            call = Call(
                dict(request.path_params),
                dict(request.query_params),
                body,
                reports,
                named or None,
            )
            try:
                status, data = await run_in_threadpool(_as_actor, actor, handler, ids, call)
            except NotFoundError as exc:
                return _error(404, "not_found", str(exc))
            except ConflictError as exc:
                return _error(409, "conflict", str(exc))
            except IdentityUnavailable as exc:
                return _error(503, "identity_unavailable", str(exc))
            except DistillguardError as exc:
                return _error(400, "invalid_request", str(exc))
            except Exception:
                log.exception("admin API error on %s %s", method, path)
                return _error(500, "internal_error", "internal error (see the server log)")
            return _json(status, data)

        return run

    async def spec_endpoint(request: Request) -> Response:
        return _json(200, spec)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if not authorised(request):  # do not reveal which routes exist
            return _error(401, "invalid_admin_token", "missing or wrong admin token")
        if status == 405:
            return _error(405, "method_not_allowed", f"{request.method} is not allowed here")
        return _error(404, "not_found", f"no admin route {request.url.path}")

    routes = [Route("/openapi.json", spec_endpoint, methods=["GET"])]
    routes += [Route(p, endpoint(m, p, h), methods=[m]) for m, p, _, h in ROUTES]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
